"""Lifecycle scripts: consent by digest, then run with a timeout and a scrubbed environment.

A script runs only when enableLifecycleHooks is on and the request carries a consent
whose digest is "sha256:<hex>" of the script's exact bytes; the digest is checked again
just before it runs. It runs with the plugin folder as working directory, an
environment reduced to an allowlist plus YELLOW_PLUGIN_*, and is killed (with its whole
process group) at the timeout.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import ContractError
from domain.marketplace.errors import plugin_error
from domain.marketplace.fsutil import is_within

OUTPUT_TAIL = 2000


@dataclass(frozen=True)
class Script:
    script_type: str
    path: str  # relative to the plugin folder
    digest: str  # sha256:<hex> of its bytes


@dataclass(frozen=True)
class ScriptRun:
    script_type: str
    exit_code: int
    duration_ms: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"scriptType": self.script_type, "exitCode": self.exit_code,
                "durationMs": self.duration_ms, "digest": self.digest}


def digest_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _script_file(root: Path, rel: str, script_type: str) -> Path:
    path = root / rel
    if path.is_symlink() or not path.is_file() or not is_within(path, root):
        raise plugin_error("ERROR-SCHEMA-004",
                           f"plugin.json names lifecycle.{script_type} {rel}, which is not a "
                           f"file in the plugin", {"field": f"lifecycle.{script_type}"})
    return path


def collect(lifecycle: Mapping[str, str], root: Path, types: Sequence[str]) -> list[Script]:
    """The plugin's scripts of the given types, in that order, with their digests."""
    return [Script(t, lifecycle[t], digest_of(_script_file(root, lifecycle[t], t)))
            for t in types if t in lifecycle]


def missing_consent(scripts: Sequence[Script],
                    consents: Sequence[Mapping[str, str]]) -> list[Script]:
    given = {(c["scriptType"], c["digest"].lower()) for c in consents}
    return [s for s in scripts if (s.script_type, s.digest) not in given]


def refused(plugin_id: str, version: str, scripts: Sequence[Script]) -> ContractError:
    """ERROR-PERM-001 naming every script and the digest a consent must carry."""
    names = ", ".join(s.script_type for s in scripts)
    return plugin_error(
        "ERROR-PERM-001",
        f"{plugin_id}@{version} has lifecycle scripts without a matching consent: {names}",
        {"pluginId": plugin_id, "version": version,
         "requiredConsent": [{"scriptType": s.script_type, "path": s.path, "digest": s.digest}
                             for s in scripts]})


def _command(path: Path) -> list[str]:
    interpreter = "sh" if path.suffix == ".sh" else "node"
    found = shutil.which(interpreter)
    if found is None:
        raise plugin_error("ERROR-INST-006", f"{interpreter} is needed to run {path.name} "
                           "but is not on PATH", {"script": path.name})
    return [found, str(path)]


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run(script: Script, cwd: Path, *, env: Mapping[str, str], timeout_s: float) -> ScriptRun:
    """Run one script in cwd; ERROR-INST-006 when it fails, ERROR-INST-007 on timeout."""
    cwd = cwd.resolve()  # the plugin folder may be given relative to ours
    path = _script_file(cwd, script.path, script.script_type)
    if digest_of(path) != script.digest:
        raise plugin_error("ERROR-PERM-001", f"{script.path} changed after consent",
                           {"scriptType": script.script_type, "digest": script.digest})
    started = time.monotonic()
    process = subprocess.Popen(_command(path), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        output, _ = process.communicate()
        raise _failure("ERROR-INST-007", script, f"timed out after {timeout_s:g}s", None,
                       output) from None
    duration_ms = int((time.monotonic() - started) * 1000)
    if process.returncode != 0:
        raise _failure("ERROR-INST-006", script, f"exited with {process.returncode}",
                       process.returncode, output)
    return ScriptRun(script.script_type, 0, duration_ms, script.digest)


def _failure(code: str, script: Script, what: str, exit_code: int | None,
             output: bytes) -> ContractError:
    return plugin_error(code, f"lifecycle script {script.script_type} ({script.path}) {what}",
                        {"scriptType": script.script_type, "exitCode": exit_code,
                         "digest": script.digest,
                         "outputTail": output.decode("utf-8", "replace")[-OUTPUT_TAIL:]})
