"""Identify processes by pid and start time, so a recycled pid is never mistaken for ours."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessRef:
    """A process we started: its pid and the kernel's record of when it started."""

    pid: int
    start_ticks: int | None

    def is_alive(self) -> bool:
        if self.pid <= 0:
            return False
        current = start_ticks_of(self.pid)
        if current is None:
            return _signal_zero(self.pid) and self.start_ticks is None
        if _is_zombie(self.pid):
            return False
        return self.start_ticks is None or current == self.start_ticks

    def to_json(self) -> dict[str, int | None]:
        return {"pid": self.pid, "start_ticks": self.start_ticks}

    @classmethod
    def from_json(cls, data: object) -> ProcessRef | None:
        if not isinstance(data, dict):
            return None
        pid, ticks = data.get("pid"), data.get("start_ticks")
        if not isinstance(pid, int) or not (ticks is None or isinstance(ticks, int)):
            return None
        return cls(pid=pid, start_ticks=ticks)

    @classmethod
    def of(cls, pid: int) -> ProcessRef:
        return cls(pid=pid, start_ticks=start_ticks_of(pid))


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its last ")".
    return raw[raw.rfind(")") + 2 :].split()


def start_ticks_of(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), None off Linux or if gone."""
    fields = _stat_fields(pid)
    if fields is None or len(fields) < 20:
        return None
    return int(fields[19])


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return bool(fields) and fields[0] in ("Z", "X")  # type: ignore[index]


def _signal_zero(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_session(pid: int, signum: int) -> None:
    """Signal a process that leads its own session (started with start_new_session), and
    so everything it started; just the process when its group is gone or not ours."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
