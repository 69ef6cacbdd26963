"""One mutating plugins command at a time per plugin folder (an flock on <dir>/.lock)."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from domain.marketplace.errors import plugin_error
from domain.marketplace.layout import PluginLayout

POLL_S = 0.05


@contextmanager
def folder_lock(layout: PluginLayout, timeout_s: float,
                sleep: Callable[[float], None] = time.sleep) -> Iterator[None]:
    """Hold the plugin folder's lock; ERR-CACHE-002 if another command keeps it too long."""
    layout.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise plugin_error("ERR-CACHE-002", f"{layout.root} is locked by another "
                                       "plugins command", {"lock": str(layout.lock)}) from None
                sleep(POLL_S)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
