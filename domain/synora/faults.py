"""Test-only failures at the points that matter (after the Nth file, during a rollback).

The plan comes from config.synora, which reads it only when SYNORA_TESTING is set; with
an empty plan every hook is a no-op. Injected faults are OSErrors, so they take exactly
the path a real I/O failure takes.
"""

from __future__ import annotations

import errno
import time
from pathlib import Path

from config.synora import FaultPlan

PAUSE_LIMIT_S = 60.0
PAUSE_POLL_S = 0.01


class InjectedFault(OSError):
    """A failure injected on purpose by a test."""

    def __init__(self, where: str) -> None:
        super().__init__(errno.EIO, f"injected fault: {where}")


class InjectedBug(RuntimeError):
    """An unexpected, non-I/O error injected by a test (the exit-10 path)."""


class FaultHooks:
    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.active = plan.active
        """False in production: a move loop can skip its per-file hook calls."""

    @property
    def force_copy(self) -> bool:
        return self.plan.force_copy

    def before_move(self, moved: int) -> None:
        """Called before each file moves, with the number moved so far."""
        if self.plan.pause_after_files == moved and self.plan.pause_file is not None:
            self._pause(self.plan.pause_file)
        if self.plan.fail_after_files == moved:
            raise InjectedFault(f"after {moved} file(s) moved")
        if self.plan.unexpected_after_files == moved:
            raise InjectedBug(f"injected bug after {moved} file(s) moved")

    def after_registry(self) -> None:
        if self.plan.fail_after_registry:
            raise InjectedFault("after the registry entry changed")

    def before_move_back(self, attempted: int) -> None:
        """Called before each file of a rollback, with the number tried so far."""
        if self.plan.rollback_fail_after_files == attempted:
            raise InjectedFault(f"rollback, after {attempted} file(s) tried")

    @staticmethod
    def _pause(release: Path) -> None:
        """Hold the operation mid-move until a test creates ``release``."""
        Path(f"{release}.paused").touch()
        deadline = time.monotonic() + PAUSE_LIMIT_S
        while not release.exists():
            if time.monotonic() > deadline:
                raise InjectedFault(f"pause: {release} never appeared")
            time.sleep(PAUSE_POLL_S)
