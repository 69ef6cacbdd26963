"""One operation at a time per package, across processes: an flock on a lock file.

The lock is the kernel's, so it goes away with a process that dies; the second of two
concurrent confirms is refused at once (exit 4) instead of waiting behind the first.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from domain.synora.errors import PACKAGE_BUSY, runtime

LOCK_FLAGS = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW


@contextmanager
def package_lock(locks_dir: Path, package_id: str) -> Iterator[None]:
    """Hold the package's lock, or raise PACKAGE_BUSY if another process holds it.

    ``package_id`` has passed validate_package_id, so it is a plain file name.
    """
    locks_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(locks_dir / f"{package_id}.lock", LOCK_FLAGS, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise runtime(PACKAGE_BUSY, f"another synora process is working on package "
                          f"{package_id!r}; nothing was changed", package_id=package_id) from None
        yield
    finally:
        os.close(fd)
