"""plugin.json validation."""

from __future__ import annotations

import pytest

from common.errors import ContractError
from domain.marketplace.manifest import parse_manifest
from tests.support.plugin_market import manifest


def test_valid_manifest() -> None:
    parsed = parse_manifest(manifest("p", "1.0.0", compatibility={
        "claudeCodeMin": "2.0.0", "nodeMin": ">=18", "os": ["Linux"], "arch": ["x64"]},
        lifecycle={"postInstall": "scripts/post.js"}))
    assert parsed.compatibility.node_min == 18 and parsed.compatibility.os == ("linux",)
    assert parsed.lifecycle == {"postInstall": "scripts/post.js"}


@pytest.mark.parametrize(("change", "field"), [
    ({"entrypoints": None}, "entrypoints"),
    ({"compatibility": {"nodeMin": "eighteen"}}, "compatibility.nodeMin"),
    ({"compatibility": {"claudeCodeMax": "2"}}, "compatibility.claudeCodeMax"),
    ({"compatibility": {"os": "linux"}}, "compatibility.os"),
    ({"lifecycle": {"postInstall": "post.sh"}}, "lifecycle.postInstall"),
    ({"lifecycle": {"postInstall": "scripts/../../x.sh"}}, "lifecycle.postInstall"),
    ({"lifecycle": {"preUninstall": "scripts/x.sh"}}, "lifecycle.preUninstall"),
    ({"author": 3}, "author"),
])
def test_invalid_manifests(change: dict[str, object], field: str) -> None:
    data = manifest("p", "1.0.0")
    data.update(change)
    if change.get("entrypoints", 1) is None:
        del data["entrypoints"]
    with pytest.raises(ContractError) as caught:
        parse_manifest(data)
    assert caught.value.code == "ERROR-SCHEMA-004"
    assert caught.value.details["context"]["field"] == field
