"""Durable, all-or-nothing file writes: temp file, fsync, rename, fsync of the folder."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (the folder's entry, not only the file's bytes)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(path: Path, data: bytes) -> Path:
    """``data`` in a new, fsynced temp file beside ``path``; the caller renames it into place
    (readers then see the old file or the whole new one) or removes it. On failure, nothing
    is left and the error names ``path``."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # O_EXCL|O_NOFOLLOW: the temp name is ours alone and never a planted symlink.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        discard(temp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # os.write() and fsync() name no file: say which one
        raise
    return temp


def discard(temp: Path) -> None:
    """Remove a temp file that was not renamed into place (gone already is fine)."""
    with contextlib.suppress(OSError):
        os.unlink(temp)


def remove_durably(path: Path) -> bool:
    """Unlink ``path`` (if present) and make that durable; whether it existed."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    fsync_dir(path.parent)
    return True
