"""Compatibility verdicts from plugin.json against the request's intent."""

from __future__ import annotations

import pytest

from domain.marketplace.compat import Intent, blocking, evaluate
from domain.marketplace.manifest import Compatibility
from domain.marketplace.semver import Version

LINUX = Intent(node_version="20.10.0", os="linux", arch="x64", claude_version="2.5.0")


def codes(compat: Compatibility, intent: Intent = LINUX) -> list[tuple[str, str]]:
    return [(f.code, f.severity) for f in evaluate(compat, intent).findings]


def test_nothing_declared_is_compatible() -> None:
    assert evaluate(Compatibility(), LINUX).verdict == "compatible"


@pytest.mark.parametrize(("request_os", "plugin_os", "ok"), [
    ("darwin", ("macos",), True), ("win32", ("windows",), True), ("linux", ("linux",), True),
    ("darwin", ("linux", "windows"), False), ("linux", ("macos",), False),
])
def test_os_names_are_mapped(request_os: str, plugin_os: tuple[str, ...], ok: bool) -> None:
    intent = Intent(node_version="20.0.0", os=request_os, arch="x64")
    found = codes(Compatibility(os=plugin_os), intent)
    assert found == ([] if ok else [("ERROR-COMPAT-001", "block")])


@pytest.mark.parametrize("arch", ["x86_64", "amd64", "x64"])
def test_uname_arch_spellings(arch: str) -> None:
    intent = Intent(node_version="20.0.0", os="linux", arch=arch)
    assert codes(Compatibility(arch=("x64",)), intent) == []
    assert codes(Compatibility(arch=("arm64",)), intent) == [("ERROR-COMPAT-002", "block")]


def test_node_major() -> None:
    assert codes(Compatibility(node_min=20)) == []
    [finding] = evaluate(Compatibility(node_min=22), LINUX).findings
    assert (finding.code, finding.message) == ("ERROR-COMPAT-003",
                                               "Requires Node.js >= 22, current: 20.10.0")
    none = Intent(node_version="0.0.0", os="linux", arch="x64")
    assert "not installed" in evaluate(Compatibility(node_min=18), none).findings[0].message


def test_claude_range() -> None:
    assert codes(Compatibility(claude_min=Version(2, 6, 0))) == [("ERROR-COMPAT-004", "block")]
    assert codes(Compatibility(claude_max=Version(2, 4, 0))) == [("ERROR-COMPAT-005", "warn")]
    assert codes(Compatibility(claude_min=Version(2, 0, 0), claude_max=Version(3, 0, 0))) == []
    unknown = Intent(node_version="20.0.0", os="linux", arch="x64")
    assert codes(Compatibility(claude_min=Version(1, 0, 0)), unknown) == [
        ("ERROR-COMPAT-006", "warn")]


def test_flags_decide_what_blocks() -> None:
    warn = evaluate(Compatibility(claude_max=Version(2, 0, 0)), LINUX)
    block = evaluate(Compatibility(os=("windows",), claude_max=Version(2, 0, 0)), LINUX)
    assert warn.verdict == "warn" and block.verdict == "block"
    assert blocking(warn, checks_enabled=True, strict=False) is None
    assert blocking(warn, checks_enabled=True, strict=True).code == "ERROR-COMPAT-005"
    assert blocking(block, checks_enabled=True, strict=True).code == "ERROR-COMPAT-001"
    assert blocking(block, checks_enabled=False, strict=True) is None
