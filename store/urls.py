"""Database URLs: which driver, and where a SQLite file lives."""

from __future__ import annotations

import errno
from pathlib import Path


def normalize_url(url: str) -> str:
    """Pick the psycopg (v3) driver for plain postgres URLs; SQLAlchemy defaults to psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_path(url: str) -> Path | None:
    """The file behind a sqlite:///path URL (None for in-memory databases)."""
    if not is_sqlite(url):
        return None
    rest = url.split("://", 1)[1]
    path = rest[1:] if rest.startswith("/") else rest
    path = path.split("?", 1)[0]
    if path in ("", ":memory:"):
        return None
    return Path(path)


def libpq_url(url: str) -> str:
    """The URL psycopg itself accepts (no SQLAlchemy driver suffix)."""
    scheme, sep, rest = url.partition("://")
    return "postgresql://" + rest if sep and scheme.startswith("postgres") else url


def ensure_sqlite_file(path: Path) -> None:
    """The SQLite file's folder (0700) and the file itself (0600: rows carry task arguments;
    its -wal and -shm files take its mode), or a clear settings error (a state folder that
    is a file, or not writable) instead of an OSError from deep inside a command."""
    import os

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except OSError as exc:
        from config.env import ConfigError

        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # a full disk is no setting to fix: the caller says disk_full
        raise ConfigError(f"cannot create the database {path} ({exc.strerror}): check the "
                          f"state folder's setting (CONVEYOR_HOME; SYNORA_HOME for synora) "
                          f"or CONVEYOR_DATABASE_URL") from None
