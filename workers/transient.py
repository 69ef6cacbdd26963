"""What counts as "try again later", and riding out a briefly unavailable database."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from common.backoff import BackoffPolicy
from common.errors import ContractError, TransientError

T = TypeVar("T")

# A bookkeeping write retries in-process for about 3 s (0.1, 0.2, 0.4, 0.8, 1.6 s)
# before the task hands the problem to Celery's retry (workers/base_task.py).
_WRITE_ATTEMPTS = 6
_WRITE_BACKOFF = BackoffPolicy(base_s=0.1, cap_s=1.6, jitter=0.1)


@cache
def database_errors() -> tuple[type[BaseException], ...]:
    """Errors meaning the database is locked, gone or unreachable (not a bad statement)."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    return (OperationalError, sqlite3.OperationalError, psycopg.OperationalError)


def is_database_outage(exc: BaseException) -> bool:
    return isinstance(exc, database_errors())


def is_transient(exc: BaseException, extra: tuple[type[BaseException], ...] = ()) -> bool:
    """Whether the same work may succeed if tried again later."""
    if isinstance(exc, ContractError):
        return False
    return isinstance(exc, (TransientError, ConnectionError, TimeoutError,
                            *database_errors(), *extra))


def with_db_retry(write: Callable[[], T]) -> T:
    """Run a bookkeeping write, waiting out a locked or unreachable database for seconds."""
    for attempt in range(1, _WRITE_ATTEMPTS + 1):
        try:
            return write()
        except database_errors():
            if attempt == _WRITE_ATTEMPTS:
                raise
            time.sleep(_WRITE_BACKOFF.delay_s(attempt))
    raise AssertionError("unreachable")
