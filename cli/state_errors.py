"""A state folder (CONVEYOR_HOME) a CLI cannot write: read-only, not ours, or full.

Every CLI writes there (its log, the SQLite database, the stack's state), so such a
folder fails the command before it starts. It is reported as what it is, naming the
path and the operating system's error: a read-only or forbidden folder is a setting
to fix (the usage error, exit 2 in `conveyor`), a full disk is the system failing to
serve (the system error, reason disk_full, exit 3), never an "unexpected error"
pointing at a log file that could not be written.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from common.errors import JobSystemError
from config.env import ConfigError

UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)
FULL = (errno.ENOSPC, errno.EDQUOT)
# SQLite's words for the same conditions (its errors carry no errno).
SQLITE_UNWRITABLE = ("readonly database", "unable to open database file")
SQLITE_FULL = ("database or disk is full",)


class UnwritableStateFolder(ConfigError):
    """A read-only or forbidden state folder: a setting to fix."""

    def __init__(self, message: str, os_error: OSError) -> None:
        super().__init__(message)
        self.os_error = os_error


class FullStateFolder(JobSystemError):
    """A full state folder: the system failing to serve (reason disk_full)."""

    def __init__(self, message: str, os_error: OSError) -> None:
        super().__init__("disk_full", message, {"path": str(os_error.filename)})
        self.os_error = os_error


StateFolderError = UnwritableStateFolder | FullStateFolder
"""What a contract whose own code is for a failed file system (chirality's IO_ERROR)
reports as that code: its ``os_error`` has the errno and the path."""


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


def state_folder_problem(exc: BaseException, *, folder: Path | None = None,
                         setting: str = "CONVEYOR_HOME") -> StateFolderError | None:
    """The clear error for an unusable state folder, or None when ``exc`` is another one.

    ``folder`` is the state folder (CONVEYOR_HOME by default) and ``setting`` the variable
    naming it (synora's is SYNORA_HOME)."""
    home = str(folder) if folder is not None else _home()
    found = _oserror_in_chain(exc)
    if found is not None and found.errno is not None:
        path = str(found.filename or home)
        named = OSError(found.errno, os.strerror(found.errno), path)
        if found.errno in UNWRITABLE:
            return UnwritableStateFolder(f"cannot write {path} in the state folder {home} "
                                         f"({os.strerror(found.errno)}): make {setting} a "
                                         f"folder this user can write", named)
        if found.errno in FULL:
            return FullStateFolder(f"cannot write {path} in the state folder {home}: "
                                   f"{os.strerror(found.errno)}", named)
        return None
    text = str(exc)
    if any(words in text for words in SQLITE_FULL):
        return FullStateFolder(f"the jobs database in {home} cannot grow: database or disk "
                               "is full", OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), home))
    if any(words in text for words in SQLITE_UNWRITABLE):
        return UnwritableStateFolder(f"cannot write the jobs database in the state folder "
                                     f"{home} (read-only database): make {setting} a folder "
                                     "this user can write",
                                     OSError(None, "read-only database", home))
    return None


PREFLIGHT_BYTES = 16 * 1024
"""About what a job's rows and a CLI's log need: a few SQLite pages."""


def ensure_state_folder_writable(folder: Path | None = None,
                                 setting: str = "CONVEYOR_HOME") -> None:
    """Write (and remove) a few pages in the state folder (CONVEYOR_HOME unless told);
    raise the clear error if that fails.

    `conveyor check` and every job run in the embedded mode do this first: on a full
    disk the job would otherwise only time out, its rows unwritable, instead of saying
    why; synora does it before it writes its registry or quarantine."""
    home = folder if folder is not None else Path(_home())
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
        # os.write's error names no file: name the one it could not write.
        problem = state_folder_problem(OSError(exc.errno, exc.strerror, str(probe)),
                                       folder=home, setting=setting)
        if problem is None:
            raise
        raise problem from None
    finally:
        # On a read-only file system even a missing file's unlink fails (EROFS): that
        # must not replace the error being raised.
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
