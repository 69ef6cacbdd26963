"""The raw SQL (store/driver.py's users) and the models agree on every column it touches.

The schema is defined once, by the SQLAlchemy models and their migrations. Every
statement the raw readers and writers run is recorded while they run against a real
database, then checked two ways: each table and column name it uses must be one the
models declare, and SQLite must prepare it (EXPLAIN) against tables created from the
models alone.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine

from store import driver as driver_module
from store.models import Base
from store.models.synora import SynoraBase

KEYWORDS = {
    "select", "from", "where", "and", "or", "not", "in", "insert", "into", "values", "on",
    "conflict", "do", "nothing", "update", "set", "returning", "order", "by", "desc", "asc",
    "limit", "null", "is", "for", "excluded", "delete", "as", "json",
}
SKIPPED = ("PRAGMA", "BEGIN", "COMMIT", "ROLLBACK")


def tables_and_columns(sql: str) -> tuple[set[str], set[str]]:
    """(tables, columns) a statement names: identifiers outside string literals that are
    not keywords, not function calls; `t.c` and `excluded.c` count as column c."""
    text = re.sub(r"'[^']*'", " ", sql)
    text = text.replace("::json", " ").replace("%s", " ")  # placeholders
    tables = {t for t in re.findall(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+([A-Za-z_]\w*)", text, re.I)
              if t.lower() not in KEYWORDS}  # ON CONFLICT DO UPDATE SET
    text = re.sub(r"\b[A-Za-z_]\w*\.(?=[A-Za-z_])", "", text)  # qualifier of t.column
    names = {n for n in re.findall(r"\b[A-Za-z_]\w*\b(?!\s*\()", text)}
    columns = {n for n in names if n.lower() not in KEYWORDS} - tables
    return tables, columns


def test_the_parser_finds_tables_and_columns() -> None:
    tables, columns = tables_and_columns(
        "INSERT INTO jobs (id, args) VALUES (?, %s::json) ON CONFLICT (id) DO UPDATE SET "
        "attempts = jobs.attempts + 1, worker = excluded.worker WHERE jobs.status NOT IN "
        "('queued') RETURNING attempts")
    assert tables == {"jobs"}
    assert columns == {"id", "args", "attempts", "worker", "status"}


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every SQL statement the drivers run while the test body runs."""
    statements: list[str] = []
    original_init = driver_module.Cursor.__init__

    class Recording:
        def __init__(self, raw: Any) -> None:
            self.raw = raw

        def execute(self, sql: str, *args: Any) -> Any:
            statements.append(sql)
            return self.raw.execute(sql, *args)

        def executemany(self, sql: str, *args: Any) -> Any:
            statements.append(sql)
            return self.raw.executemany(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.raw, name)

    def cursor_init(self: Any, raw: Any, owner: Any) -> None:
        original_init(self, Recording(raw), owner)

    original_connection = driver_module.SqliteDriver._connection

    def connection(self: Any) -> Any:
        return Recording(original_connection(self))

    monkeypatch.setattr(driver_module.Cursor, "__init__", cursor_init)
    monkeypatch.setattr(driver_module.SqliteDriver, "_connection", connection)
    yield statements


def _exercise_jobs(url: str) -> None:
    from store import job_reads, job_writes

    job_writes.record_queued(url, job_writes.QueuedJob(id="j1", kind="k.m.f", queue="default",
                                                       args={"args": []}))
    job_writes.start_attempt("j1", kind="k.m.f", queue="default", args={}, correlation_id=None,
                             max_attempts=3, worker="w", url=url)
    job_writes.set_progress("j1", "half", url=url)
    job_writes.mark_retrying("j1", next_retry_at=datetime.now(UTC), error="e", url=url)
    job_writes.mark_succeeded("j1", result={"ok": True}, url=url)
    job_writes.mark_failed("j1", error="e", exit_code=1, url=url)
    job_writes.requeue_if_idle("j1", idle_since=datetime.now(UTC), reason="r", url=url)
    job_reads.get_job("j1", url=url)
    for status in (None, "queued"):
        for kind in (None, "k.m.f"):
            job_reads.list_jobs(status=status, kind=kind, url=url)


class _NeverReady:
    """Only the SQL matters here: the backend is not asked anything real."""

    def is_ready(self, _spec: Any, _handle: Any) -> bool:
        return False


def _exercise_exam(url: str) -> None:
    from domain.exam.access import authorize
    from domain.exam.environment_status import environment_status
    from domain.exam.reads import session_display, session_status, ttl_check
    from domain.exam.sessions import create_session, transition
    from domain.exam.states import SessionState
    from store.engine import session_scope
    from store.models.exam import ExamEnvironment

    sid, uid = "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "550e8400-e29b-41d4-a716-446655440000"
    create_session(uid, sid, 600, url=url)
    transition(sid, SessionState.INITIALIZING, None, url=url)
    transition(sid, SessionState.READY, None, url=url)
    now = datetime.now(UTC)
    with session_scope(url) as db:
        db.add(ExamEnvironment(id="e1", session_id=sid, backend="local", pod_name="p",
                               pod_namespace="n", status="running", reason=None, handle={},
                               created_at=now, create_deadline_at=now, updated_at=now))
    for read in (session_status, session_display, ttl_check):
        read(sid, url=url)
    assert environment_status(sid, url=url, backend=_NeverReady())["status"] == "running"
    assert authorize(sid, uid, url=url)["authorized"] is True  # the touch UPDATE runs


def _exercise_synora(db_path: Path) -> None:
    from domain.synora.registry import PackageSpec, add_package, list_packages, load_package

    add_package(db_path, PackageSpec(id="Git.Git", name="Git", version="2",
                                     install_path=str(db_path.parent / "git")))
    list_packages(db_path)
    list_packages(db_path, "installed")
    load_package(db_path, "Git.Git")


def _exercise_synora_operations(home: Path) -> None:
    """A quarantine and a restore, each also failed after the boundary (both rollbacks):
    every audit, registry and look-up statement an operation runs."""
    from config.synora import FaultPlan, SynoraSettings
    from domain.synora.quarantine import QuarantineRequest, quarantine
    from domain.synora.registry import PackageSpec, add_package
    from domain.synora.restore import restore

    root = home.parent / "apps" / "tool"
    (root / "lib").mkdir(parents=True)
    for name in ("a.txt", "b.txt"):
        (root / "lib" / name).write_text(name)
    settings = SynoraSettings(home=home, allowed_roots=())
    add_package(settings.db_path, PackageSpec(id="Tool.Tool", name="Tool", version="1",
                                              install_path=str(root)))
    request = QuarantineRequest(package_id="Tool.Tool", confirm=True)
    failing = SynoraSettings(home=home, allowed_roots=(), faults=FaultPlan(fail_after_files=1))
    assert quarantine(request, failing).status == "quarantine_rollback_success"
    done = quarantine(request, settings)
    assert done.status == "quarantine_success"
    assert restore(done.operation_id, failing).status == "restore_rollback_success"
    assert restore(done.operation_id, settings).status == "restore_success"


def _model_schema(metadata: MetaData) -> dict[str, set[str]]:
    return {table.name: {column.name for column in table.columns}
            for table in metadata.tables.values()}


def _raw(statements: list[str], tables: dict[str, set[str]]) -> list[str]:
    """The statements that touch these tables (SQLAlchemy's own ones are not recorded)."""
    found = []
    for sql in dict.fromkeys(statements):
        if sql.lstrip().upper().startswith(SKIPPED):
            continue
        if tables_and_columns(sql)[0] & set(tables):
            found.append(sql)
    return found


def _check(statements: list[str], metadata: MetaData, tmp_path: Path) -> None:
    schema = _model_schema(metadata)
    assert statements, "nothing recorded: the check would pass vacuously"
    models_only = tmp_path / "models-only.db"
    engine = create_engine(f"sqlite:///{models_only}")
    metadata.create_all(engine)
    engine.dispose()
    conn = sqlite3.connect(models_only)
    try:
        for sql in statements:
            tables, columns = tables_and_columns(sql)
            assert tables <= set(schema), f"unknown table in {sql}"
            known = set().union(*(schema[t] for t in tables))
            assert columns, f"no columns parsed from {sql}"
            assert columns <= known, f"{sorted(columns - known)} not in the models: {sql}"
            conn.execute(f"EXPLAIN {sql}", (None,) * sql.count("?"))
    finally:
        conn.close()


def test_jobs_and_exam_raw_sql_matches_the_models(recorded: list[str], tmp_path: Path,
                                                  conveyor_home: Path) -> None:
    url = f"sqlite:///{conveyor_home / 'conveyor.db'}"
    _exercise_jobs(url)
    _exercise_exam(url)
    statements = _raw(recorded, _model_schema(Base.metadata))
    touched = {t for sql in statements for t in tables_and_columns(sql)[0]}
    assert {"jobs", "exam_sessions", "exam_environments", "exam_access_log"} <= touched
    _check(statements, Base.metadata, tmp_path)


def test_synora_raw_sql_matches_the_models(recorded: list[str], tmp_path: Path) -> None:
    _exercise_synora(tmp_path / "synora" / "synora.db")
    _exercise_synora_operations(tmp_path / "synora")
    statements = _raw(recorded, _model_schema(SynoraBase.metadata))
    touched = {t for sql in statements for t in tables_and_columns(sql)[0]}
    assert touched == {"software", "update_history", "quarantine", "registry_backup"}
    assert any(sql.startswith("INSERT INTO quarantine") for sql in statements)
    _check(statements, SynoraBase.metadata, tmp_path)


def test_a_column_the_models_lack_is_caught(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="not in the models"):
        _check(["SELECT id, colour FROM jobs WHERE id = ?"], Base.metadata, tmp_path)


def test_raw_rows_equal_the_orm_rows(db_url: str) -> None:
    """What the driver reads is what SQLAlchemy reads from the same rows."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from common.clock import iso_z
    from store.engine import get_engine
    from store.exam_reads import EnvironmentRow, SessionRow, columns, load_session_and_environment
    from store.job_reads import JOB_COLUMNS, get_job
    from store.models.exam import ExamEnvironment, ExamSession
    from store.models.jobs import Job

    now = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    job = Job(id="orm-1", kind="k.m.f", queue="q", args={"kwargs": {"x": "é"}}, status="failed",
              attempts=2, max_attempts=3, next_retry_at=None, last_error="boom",
              last_exit_code=4, correlation_id="c", progress="p", result={"code": "X"},
              worker="w@h", created_at=now, updated_at=now + timedelta(seconds=1),
              started_at=now, finished_at=now + timedelta(seconds=2))
    sid = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    session = ExamSession(id=sid, user_id="u", state="running", reason=None,
                          duration_seconds=60, created_at=now, updated_at=now,
                          last_transition_at=now, last_activity_at=now, ready_at=now,
                          running_at=now, terminated_at=None, expires_at=now,
                          abandon_at=now + timedelta(hours=1))
    env = ExamEnvironment(id="e1", session_id=sid, backend="local", pod_name="p",
                          pod_namespace="n", status="running", reason=None,
                          handle={"pid": 1}, created_at=now, create_deadline_at=now,
                          updated_at=now, ready_at=now, destroyed_at=None)
    with Session(get_engine(db_url)) as db, db.begin():
        db.add_all([job, session])
        db.flush()
        db.add(env)
    with Session(get_engine(db_url)) as db:
        orm_job = db.execute(select(Job.__table__)).first()
        orm_session = db.get(ExamSession, sid)
        orm_env = db.get(ExamEnvironment, "e1")
    assert orm_job is not None and orm_session is not None and orm_env is not None
    mapping = dict(orm_job._mapping)
    expected_job = {c: (iso_z(v) if isinstance(v, datetime) else v) for c, v in mapping.items()}
    assert tuple(mapping) == JOB_COLUMNS
    assert get_job("orm-1", url=db_url) == expected_job
    raw_session, raw_env = load_session_and_environment(sid, url=db_url)
    assert raw_session == SessionRow(**{c: getattr(orm_session, c) for c in columns(SessionRow)})
    assert raw_env == EnvironmentRow(**{c: getattr(orm_env, c)
                                        for c in columns(EnvironmentRow)})
    assert set(columns(SessionRow)) == {c.name for c in ExamSession.__table__.columns}
    assert set(columns(EnvironmentRow)) == {c.name for c in ExamEnvironment.__table__.columns}
