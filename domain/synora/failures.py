"""How an exception during an operation is reported: error code, exit code, message."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from domain.synora.errors import (
    EXIT_INTERNAL,
    EXIT_RUNTIME,
    INTEGRITY_MISMATCH,
    INTERNAL_ERROR,
    INTERRUPTED,
    MOVE_FAILED,
    STORE_FAILED,
    SynoraError,
)
from domain.synora.fsops import IntegrityError

logger = logging.getLogger("synora")


def _is_store_error(exc: BaseException) -> bool:
    """SQLAlchemy's errors, and sqlite3's own (the reads go through the driver)."""
    import sqlite3
    import sys

    # Not imported means not raised: the CLI's read paths never load SQLAlchemy.
    sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
    if sqlalchemy_exc is not None and isinstance(exc, sqlalchemy_exc.SQLAlchemyError):
        return True
    return isinstance(exc, sqlite3.Error)


@contextmanager
def store_failures() -> Iterator[None]:
    """A database that cannot be used (not a database, unreadable, locked) as the
    contract's runtime failure STORE_FAILED (exit 4), outside an operation too."""
    try:
        yield
    except Exception as exc:
        if not _is_store_error(exc):
            raise
        code, exit_code, message = classify(exc)
        raise SynoraError(code, f"{message} ({exc.__cause__ or exc})"[:500],
                          exit_code) from None


def classify(exc: BaseException) -> tuple[str, int, str]:
    """(error code, exit code, message) for a failure; exit 10 only for the unexpected."""
    if isinstance(exc, SynoraError):
        return exc.code, exc.exit_code, exc.message
    if isinstance(exc, IntegrityError):
        return INTEGRITY_MISMATCH, EXIT_RUNTIME, f"integrity check failed: {exc}"
    if isinstance(exc, OSError):
        return MOVE_FAILED, EXIT_RUNTIME, f"file operation failed: {exc}"
    if _is_store_error(exc):
        return STORE_FAILED, EXIT_RUNTIME, f"the Synora database failed: {type(exc).__name__}"
    if isinstance(exc, KeyboardInterrupt):
        return INTERRUPTED, EXIT_RUNTIME, "interrupted"
    return INTERNAL_ERROR, EXIT_INTERNAL, f"unexpected {type(exc).__name__}"


def attempt(step: Callable[[], object]) -> bool:
    """Run a best-effort step of a failure path; False if it raised (a rollback goes on)."""
    try:
        step()
    except Exception:
        logger.debug("best-effort step failed", exc_info=True)
        return False
    return True
