"""One computation per run folder at a time: an flock on runs/<run_id>/.chirality.lock.

Why flock and not an O_EXCL marker file or a row: the kernel drops the lock the moment
its holder dies (a worker killed mid-run, a CLI killed in the embedded mode), so a
claim can never go stale and nothing needs heartbeats or expiry times. Two open()s
of the file, even by two threads of one process, lock independently (flock(2)).

The holder unlinks the file when done. A waiter may by then have opened the old file
and win the lock on it, so after locking it checks that the path still names the file
it locked, and tries again if not.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from common.clock import now_iso
from domain.chirality.errors import timed_out


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _try_lock(path: Path) -> int | None:
    """A locked descriptor of the file at ``path``, or None while another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    if not _same_file(fd, path):
        os.close(fd)  # the holder had unlinked it: lock the file that is there now
        return _try_lock(path)
    return fd


@contextlib.contextmanager
def claim_run(path: Path, *, run_id: str, deadline: float, poll_s: float,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> Iterator[bool]:
    """Hold the run's lock for the block; yields whether it had to wait for another job.

    Waits while another job holds it, up to ``deadline`` (on ``clock``), then raises
    ContractError TIMEOUT (exit 3).
    """
    waited = False
    while (fd := _try_lock(path)) is None:
        waited = True
        if clock() >= deadline:
            raise timed_out(f"run {run_id} is being computed by another job, which did not "
                            f"finish before this one's time limit", run_id=run_id)
        sleep(min(poll_s, max(deadline - clock(), 0.0)))
    try:
        # Who holds it, for a person looking at the folder; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since {now_iso()}\n"
                 .encode())
        yield waited
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)
