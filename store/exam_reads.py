"""Exam sessions and environments through the driver, for the CLIs that read them
(status, display, TTL check, environment status) and the access decision.

The rows are the columns store/models/exam.py declares, as plain frozen dataclasses
with the models' attribute names and types (aware UTC datetimes, JSON as objects).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from store.driver import Cursor, Driver, as_datetime, as_json, default_driver

SESSIONS_TABLE = "exam_sessions"
ENVIRONMENTS_TABLE = "exam_environments"
ACCESS_LOG_TABLE = "exam_access_log"


@dataclass(frozen=True)
class SessionRow:
    id: str
    user_id: str
    state: str
    reason: str | None
    duration_seconds: int
    created_at: datetime
    updated_at: datetime
    last_transition_at: datetime
    last_activity_at: datetime
    ready_at: datetime | None
    running_at: datetime | None
    terminated_at: datetime | None
    expires_at: datetime | None
    abandon_at: datetime


@dataclass(frozen=True)
class EnvironmentRow:
    id: str
    session_id: str
    backend: str
    pod_name: str
    pod_namespace: str
    status: str
    reason: str | None
    handle: dict[str, Any] | None
    created_at: datetime
    create_deadline_at: datetime
    updated_at: datetime
    ready_at: datetime | None
    destroyed_at: datetime | None


def columns(row_type: type[Any]) -> tuple[str, ...]:
    return tuple(f.name for f in fields(row_type))


_DATETIME_TYPES = ("datetime", "datetime | None")


def _build(row_type: type[Any], raw: dict[str, Any]) -> Any:
    values = {}
    for f in fields(row_type):
        value = raw[f.name]
        if f.type in _DATETIME_TYPES:
            value = as_datetime(value)
        elif f.name == "handle":
            value = as_json(value)
        values[f.name] = value
    return row_type(**values)


SELECT_SESSION = (f"SELECT {', '.join(columns(SessionRow))} FROM {SESSIONS_TABLE} "
                  "WHERE id = {p}")
SELECT_ENVIRONMENT = (f"SELECT {', '.join(columns(EnvironmentRow))} FROM {ENVIRONMENTS_TABLE} "
                      "WHERE session_id = {p}")
SELECT_ENVIRONMENT_STATUS = f"SELECT status FROM {ENVIRONMENTS_TABLE} WHERE session_id = {{p}}"
TOUCH_SESSION = (f"UPDATE {SESSIONS_TABLE} SET last_activity_at = {{p}}, abandon_at = {{p}} "
                 "WHERE id = {p}")
INSERT_ACCESS_LOG = (f"INSERT INTO {ACCESS_LOG_TABLE} (session_id, user_id, decision, reason, at) "
                     "VALUES ({p}, {p}, {p}, {p}, {p})")


def _session(db: Driver, cursor: Cursor, session_id: str, *, lock: bool = False
             ) -> SessionRow | None:
    sql = db.sql(SELECT_SESSION) + (" FOR UPDATE" if lock and db.placeholder == "%s" else "")
    found = cursor.fetch(sql, (session_id,))
    return _build(SessionRow, found[0]) if found else None


def load_session(session_id: str, *, url: str | None = None) -> SessionRow | None:
    db = default_driver(url)
    with db.cursor() as cursor:
        return _session(db, cursor, session_id)


def load_session_and_environment(session_id: str, *, url: str | None = None
                                 ) -> tuple[SessionRow | None, EnvironmentRow | None]:
    """The session and its environment, read in one transaction (a consistent pair)."""
    db = default_driver(url)
    with db.transaction(write=False) as cursor:
        session = _session(db, cursor, session_id)
        if session is None:
            return None, None
        found = cursor.fetch(db.sql(SELECT_ENVIRONMENT), (session_id,))
        return session, (_build(EnvironmentRow, found[0]) if found else None)


class AccessTransaction:
    """The access decision's reads and writes, in one write transaction."""

    def __init__(self, db: Driver, cursor: Cursor) -> None:
        self.db = db
        self.cursor = cursor

    def session_for_update(self, session_id: str) -> SessionRow | None:
        return _session(self.db, self.cursor, session_id, lock=True)

    def environment_status(self, session_id: str) -> str | None:
        found = self.cursor.execute(self.db.sql(SELECT_ENVIRONMENT_STATUS), (session_id,))
        return str(found[0][0]) if found else None

    def touch(self, session_id: str, last_activity_at: datetime, abandon_at: datetime) -> None:
        self.cursor.execute(self.db.sql(TOUCH_SESSION), (
            self.db.moment(last_activity_at), self.db.moment(abandon_at), session_id))

    def log_access(self, session_id: str, user_id: str, decision: str, reason: str,
                   at: datetime) -> None:
        self.cursor.execute(self.db.sql(INSERT_ACCESS_LOG), (
            session_id, user_id, decision, reason, self.db.moment(at)))


@contextmanager
def access_transaction(url: str | None = None) -> Iterator[AccessTransaction]:
    db = default_driver(url)
    with db.transaction() as cursor:
        yield AccessTransaction(db, cursor)
