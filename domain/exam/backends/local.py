"""The embedded backend: a working folder and a supervised process per session.

<local_root>/<namespace>/<pod name>/ holds the process's `pid` record, its `ready`
marker and `process.log`. The process runs in a session of its own, so it outlives
the worker (or CLI) that started it; it is identified by pid *and* start time, so a
recycled pid is never taken for it. The record names the session that owns the
folder: a redelivered create of *that* session adopts the process instead of starting a
second one (the local form of a 409); any other session is refused, and destroy and
readiness checks never act on a folder another session owns.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from common.errors import ContractError
from config.processes import ProcessRef
from domain.exam.backends.base import EnvironmentSpec, Outcome
from domain.exam.errors import create_failed, destroy_failed

POLL_S = 0.02
STOP_GRACE_S = 5.0
READY_MARKER = "ready"
PID_RECORD = "pid"


def _safe_dir(spec: EnvironmentSpec) -> Path:
    """The session's folder, refusing anything that would lead outside the backend's root."""
    root = spec.settings.local_namespace_dir
    root.mkdir(parents=True, exist_ok=True)
    folder = root / spec.pod_name
    if folder.is_symlink() or root.is_symlink():
        raise ContractError("ENVIRONMENT_CREATE_FAILED", "Failed to create execution environment",
                            {"session_id": spec.session_id,
                             "reason": "the environment folder is a symbolic link"}, 1)
    if folder.resolve().parent != root.resolve():
        raise ValueError(f"environment folder {folder} escapes {root}")
    return folder


def _command(spec: EnvironmentSpec) -> list[str]:
    if spec.settings.local_command:
        return shlex.split(spec.settings.local_command)
    return [sys.executable, "-m", "domain.exam.backends.local_program"]


def _reap(process: subprocess.Popen[bytes]) -> None:
    # The process is our child while we live: wait for it so it never lingers as a zombie.
    threading.Thread(target=process.wait, daemon=True, name=f"reap-{process.pid}").start()


def _read_record(folder: Path) -> dict[str, Any] | None:
    """The folder's process record: pid, start_ticks and the owning session_id."""
    try:
        record = json.loads((folder / PID_RECORD).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _read_ref(folder: Path) -> ProcessRef | None:
    return ProcessRef.from_json(_read_record(folder))


def _owns(record: dict[str, Any], spec: EnvironmentSpec, handle: dict[str, Any] | None) -> bool:
    """Whether a process record is this session's. A record written before records named
    their session counts only if it is the very process this environment's handle holds."""
    if "session_id" in record:
        return bool(record["session_id"] == spec.session_id)
    ref, mine = ProcessRef.from_json(record), ProcessRef.from_json(handle)
    return ref is not None and ref == mine


def _project_root() -> str:
    return str(Path(__file__).resolve().parents[3])


class LocalBackend:
    name = "local"

    def start(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> dict[str, Any]:
        folder = _safe_dir(spec)
        folder.mkdir(exist_ok=True)
        # Two deliveries of one create must not both find no process and start one each.
        with (folder / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._start_locked(spec, folder, handle)

    def _start_locked(self, spec: EnvironmentSpec, folder: Path,
                      handle: dict[str, Any] | None) -> dict[str, Any]:
        record = _read_record(folder)
        if record is not None and not _owns(record, spec, handle):
            raise create_failed(spec.session_id, f"environment name {spec.pod_name} is taken "
                                                 f"by another session")
        ref = ProcessRef.from_json(record)
        if ref is not None and ref.is_alive():
            return {"pid": ref.pid, "start_ticks": ref.start_ticks, "folder": str(folder)}
        (folder / READY_MARKER).unlink(missing_ok=True)
        inherited = spec.settings.local_env  # an allowlist: never the worker's secrets
        env = {**inherited, "EXAM_SESSION_ID": spec.session_id, "EXAM_USER_ID": spec.user_id,
               "EXAM_WORKDIR": str(folder),
               "PYTHONPATH": os.pathsep.join(filter(None, [_project_root(),
                                                            inherited.get("PYTHONPATH")]))}
        with (folder / "process.log").open("ab") as log:
            process = subprocess.Popen(_command(spec), cwd=folder, env=env, stdout=log,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        _reap(process)
        ref = ProcessRef.of(process.pid)
        tmp = folder / (PID_RECORD + ".tmp")
        tmp.write_text(json.dumps({**ref.to_json(), "session_id": spec.session_id}))
        os.replace(tmp, folder / PID_RECORD)
        return {"pid": ref.pid, "start_ticks": ref.start_ticks, "folder": str(folder)}

    def wait_ready(self, spec: EnvironmentSpec, handle: dict[str, Any],
                   timeout_s: float) -> Outcome:
        ref = ProcessRef.from_json(handle)
        folder = Path(handle["folder"])
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while True:
            if ref is None or not ref.is_alive():
                return Outcome(False, f"CrashLoopBackOff: the environment process exited "
                                      f"(see {folder / 'process.log'})")
            if (folder / READY_MARKER).exists():
                return Outcome(True)
            if time.monotonic() >= deadline:
                return Outcome(False, None, timed_out=True)
            time.sleep(POLL_S)

    def delete(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> None:
        """Stop this session's process and remove its folder; ENVIRONMENT_DESTROY_FAILED
        if either fails. A folder another session owns is left alone."""
        folder = spec.settings.local_namespace_dir / spec.pod_name
        from_handle = ProcessRef.from_json(handle) if handle else None
        if folder.is_symlink():
            # Not a folder we made: trust only the stored handle, and remove just the link.
            folder.unlink()
            ref = from_handle
        else:
            record = _read_record(folder)
            if record is not None and not _owns(record, spec, handle):
                return  # another session's environment: never ours to stop or remove
            ref = ProcessRef.from_json(record) or from_handle
        if ref is not None and ref.is_alive() and not _stop(ref):
            raise destroy_failed(spec.session_id, f"the environment process {ref.pid} did not "
                                                  f"stop")
        if folder.is_dir():
            try:
                shutil.rmtree(folder)
            except OSError as exc:
                raise destroy_failed(spec.session_id, f"cannot remove the environment folder: "
                                                      f"{exc}") from None

    def is_ready(self, spec: EnvironmentSpec, handle: dict[str, Any] | None) -> bool:
        ref = ProcessRef.from_json(handle) if handle else None
        if ref is None or not ref.is_alive():
            return False
        folder = Path(handle["folder"]) if handle else _safe_dir(spec)
        record = _read_record(folder)
        if record is None or not _owns(record, spec, handle) or \
                ProcessRef.from_json(record) != ref:
            return False  # the folder's process is not this environment's
        return (folder / READY_MARKER).exists()


def _stop(ref: ProcessRef) -> bool:
    """SIGTERM to the process group, SIGKILL if it is still there after the grace period;
    whether it is gone."""
    for signum, wait_s in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, STOP_GRACE_S)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(ref.pid, signum)
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if not ref.is_alive():
                return True
            time.sleep(POLL_S)
    return not ref.is_alive()
