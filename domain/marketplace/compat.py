"""Compatibility verdicts: does a plugin version fit the caller's platform and host?

Findings come from plugin.json's compatibility against the request's
compatibilityIntent. os names differ: requests say linux|darwin|win32, plugin.json
says linux|macos|windows; architectures arrive as x64|arm64 or as `uname -m` prints
them (x86_64, aarch64).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.marketplace.manifest import Compatibility
from domain.marketplace.semver import SemverError, Version

OS_NAMES = {"linux": "linux", "darwin": "macos", "macos": "macos", "win32": "windows",
            "windows": "windows"}
ARCH_NAMES = {"x64": "x64", "x86_64": "x64", "amd64": "x64", "arm64": "arm64",
              "aarch64": "arm64", "ia32": "ia32", "i386": "ia32", "i686": "ia32"}
NO_NODE = "0.0.0"  # what interactive detection reports when node is not installed

BLOCK = "block"
WARN = "warn"
COMPATIBLE = "compatible"


@dataclass(frozen=True)
class Intent:
    node_version: str
    os: str
    arch: str
    claude_version: str | None = None


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # block or warn
    message: str


@dataclass(frozen=True)
class Verdict:
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> str:
        severities = {f.severity for f in self.findings}
        return BLOCK if BLOCK in severities else WARN if severities else COMPATIBLE


def _platform(compat: Compatibility, intent: Intent) -> list[Finding]:
    found = []
    os_name = OS_NAMES.get(intent.os.lower(), intent.os.lower())
    if compat.os is not None and os_name not in {OS_NAMES.get(o, o) for o in compat.os}:
        found.append(Finding("ERROR-COMPAT-001", BLOCK,
                             f"Supports {', '.join(compat.os)}, current: {os_name}"))
    arch = ARCH_NAMES.get(intent.arch.lower(), intent.arch.lower())
    if compat.arch is not None and arch not in {ARCH_NAMES.get(a, a) for a in compat.arch}:
        found.append(Finding("ERROR-COMPAT-002", BLOCK,
                             f"Supports {', '.join(compat.arch)}, current: {arch}"))
    return found


def _node(compat: Compatibility, intent: Intent) -> list[Finding]:
    if compat.node_min is None:
        return []
    try:
        major = Version.parse(intent.node_version).major
    except SemverError:
        major = 0
    if major >= compat.node_min:
        return []
    current = "not installed" if intent.node_version == NO_NODE else intent.node_version
    return [Finding("ERROR-COMPAT-003", BLOCK,
                    f"Requires Node.js >= {compat.node_min}, current: {current}")]


def _claude(compat: Compatibility, intent: Intent) -> list[Finding]:
    if compat.claude_min is None and compat.claude_max is None:
        return []
    if intent.claude_version is None:
        return [Finding("ERROR-COMPAT-006", WARN,
                        "The plugin declares a Claude Code version range but the request "
                        "gives no claudeVersion to check it against")]
    current = Version.parse(intent.claude_version)
    if compat.claude_min is not None and current < compat.claude_min:
        return [Finding("ERROR-COMPAT-004", BLOCK,
                        f"Requires Claude Code >= {compat.claude_min}, current: {current}")]
    if compat.claude_max is not None and current > compat.claude_max:
        return [Finding("ERROR-COMPAT-005", WARN,
                        f"Declared for Claude Code <= {compat.claude_max}, current: {current}")]
    return []


def evaluate(compat: Compatibility, intent: Intent) -> Verdict:
    """Every finding; the verdict is the worst of them."""
    return Verdict(tuple(_platform(compat, intent) + _node(compat, intent)
                         + _claude(compat, intent)))


def blocking(verdict: Verdict, *, checks_enabled: bool, strict: bool) -> Finding | None:
    """The finding that stops the install, if any, once the flags have their say.

    enableCompatibilityChecks off: nothing blocks. strictCompatibility on: a warning blocks.
    """
    if not checks_enabled:
        return None
    for finding in verdict.findings:
        if finding.severity == BLOCK:
            return finding
    return verdict.findings[0] if strict and verdict.findings else None
