"""A state folder (CONVEYOR_HOME) a CLI cannot write: read-only, not ours, or full.

Every CLI writes there (its log, the SQLite database, the stack's state), so such a
folder fails the command before it starts. It is reported as what it is, naming the
path and the operating system's error: a read-only or forbidden folder is a setting
to fix (the usage error, exit 2 in `conveyor`), a full disk is the system failing to
serve (the system error, reason disk_full, exit 3), never an "unexpected error"
pointing at a log file that could not be written.
"""

from __future__ import annotations

import errno
import os

from config.env import ConfigError
from domain.errors import JobSystemError

UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
FULL = (errno.ENOSPC, errno.EDQUOT)
# SQLite's words for the same conditions (its errors carry no errno).
SQLITE_UNWRITABLE = ("readonly database", "unable to open database file")
SQLITE_FULL = ("database or disk is full",)


def _home() -> str:
    from config.settings import get_settings

    return str(get_settings().home)


def _oserror_in_chain(exc: BaseException) -> OSError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno is not None:
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def state_folder_problem(exc: BaseException) -> ConfigError | JobSystemError | None:
    """The clear error for an unusable state folder, or None when ``exc`` is another one."""
    home = _home()
    found = _oserror_in_chain(exc)
    if found is not None:
        path = str(found.filename or home)
        if found.errno in UNWRITABLE:
            return ConfigError(f"cannot write {path} in the state folder {home} "
                               f"({os.strerror(found.errno)}): make CONVEYOR_HOME a folder "
                               f"this user can write")
        if found.errno in FULL:
            return JobSystemError("disk_full", f"cannot write {path} in the state folder "
                                  f"{home}: {os.strerror(found.errno)}",
                                  {"path": path})
        return None
    text = str(exc)
    if any(words in text for words in SQLITE_FULL):
        return JobSystemError("disk_full", f"the jobs database in {home} cannot grow: "
                              "database or disk is full", {"path": home})
    if any(words in text for words in SQLITE_UNWRITABLE):
        return ConfigError(f"cannot write the jobs database in the state folder {home} "
                           "(read-only database): make CONVEYOR_HOME a folder this user "
                           "can write")
    return None


PREFLIGHT_BYTES = 16 * 1024
"""About what a job's rows and a CLI's log need: a few SQLite pages."""


def ensure_state_folder_writable() -> None:
    """Write (and remove) a few pages in CONVEYOR_HOME; raise the clear error if that fails.

    `conveyor check` does this first: on a full disk its probe would otherwise only
    time out, its rows unwritable, instead of saying why."""
    from pathlib import Path

    home = Path(_home())
    if not home.is_dir():
        return  # created on first use; a failure there is reported as it happens
    probe = home / f".conveyor-write-check-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, bytes(PREFLIGHT_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        problem = state_folder_problem(exc)
        if problem is None:
            raise
        raise problem from None
    finally:
        probe.unlink(missing_ok=True)
