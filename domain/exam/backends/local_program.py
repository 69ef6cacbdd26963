"""The local backend's default per-session program: say "ready", then wait to be stopped.

It stands where a pod's terminal would run; the folder it runs in is the session's
working folder. Any other program works if it creates a file named `ready` in its
working folder once it serves (CONVEYOR_EXAM_LOCAL_COMMAND).
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from types import FrameType


def main() -> int:
    stop = False

    def on_term(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    Path("ready").write_text("ready\n")
    while not stop:
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
