"""The machine's compatibility intent, for interactive mode (automation sends its own)."""

from __future__ import annotations

import platform
import re
import shutil
import subprocess
import sys
from typing import Any

from domain.marketplace.compat import NO_NODE

_SEMVER = re.compile(r"(\d+\.\d+\.\d+)")
_OS = {"linux": "linux", "darwin": "darwin", "win32": "win32", "cygwin": "win32"}
_ARCH = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
PROBE_TIMEOUT_S = 5.0


def _version_of(program: str) -> str | None:
    """`program --version`'s first x.y.z, or None when it is missing or says nothing usable."""
    found = shutil.which(program)
    if found is None:
        return None
    try:
        done = subprocess.run([found, "--version"], capture_output=True, text=True,
                              timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = _SEMVER.search(done.stdout)
    return match.group(1) if match and done.returncode == 0 else None


def detect_intent(*, node_version: str | None = None,
                  claude_version: str | None = None) -> dict[str, Any]:
    """compatibilityIntent for this machine; given versions win over detected ones.

    Without node on PATH the node version is 0.0.0: a plugin that needs Node.js is
    then reported as incompatible ("current: not installed"), which it is.
    """
    intent: dict[str, Any] = {
        "nodeVersion": node_version or _version_of("node") or NO_NODE,
        "os": _OS.get(sys.platform, sys.platform),
        "arch": _ARCH.get(platform.machine().lower(), platform.machine().lower() or "x64"),
    }
    claude = claude_version or _version_of("claude")
    if claude:
        intent["claudeVersion"] = claude
    return intent
