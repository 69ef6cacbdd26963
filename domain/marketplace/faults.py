"""Test-only fault injection into the install transaction (YELLOW_PLUGINS_TEST_FAULT).

Unset in normal use, and then nothing here does anything. "<point>" or "<point>:raise"
makes the step fail with an I/O error (the transaction rolls back in process);
"<point>:exit" kills the process on the spot, as a crash or power loss would, and the
next command's recovery has to restore the previous state.
"""

from __future__ import annotations

import errno
import os

CRASH_EXIT_CODE = 137


class Faults:
    def __init__(self, spec: str | None) -> None:
        point, _, mode = (spec or "").partition(":")
        self.point = point or None
        self.mode = mode or "raise"

    def hit(self, point: str) -> None:
        if point != self.point:
            return
        if self.mode == "exit":
            os._exit(CRASH_EXIT_CODE)
        raise OSError(errno.EIO, f"injected fault at {point}")
