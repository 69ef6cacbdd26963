"""PostgreSQL's hot writes straight through libpq (PostgresDriver.write)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from config.env import ConfigError
from store.driver import (
    _numbered_placeholders,
    _text_param,
    _text_params,
    driver,
    reset_drivers,
)
from store.job_writes import QueuedJob, mark_succeeded, record_queued, start_attempt

pytestmark = pytest.mark.postgres


def test_placeholders_are_numbered_in_order() -> None:
    assert _numbered_placeholders("UPDATE t SET a = %s, b = %s::json WHERE id = %s") == \
        "UPDATE t SET a = $1, b = $2::json WHERE id = $3"
    assert _numbered_placeholders("SELECT 1") == "SELECT 1"


def test_parameters_in_text_form() -> None:
    assert _text_param(None) is None
    assert _text_param(True) == b"t" and _text_param(False) == b"f"
    assert _text_param(7) == b"7" and _text_param("ü") == "ü".encode()
    moment = datetime(2026, 12, 6, 19, 0, 1, 250000, tzinfo=UTC)
    assert _text_param(moment) == b"2026-12-06T19:00:01.250000+00:00"
    with pytest.raises(ValueError, match="naive"):
        _text_param(datetime(2026, 1, 1))
    with pytest.raises(TypeError):
        _text_param(object())


def test_a_row_of_parameters_is_each_one_in_text_form() -> None:
    first = datetime(2026, 12, 6, 19, 0, 1, tzinfo=UTC)
    second = datetime(2026, 12, 6, 19, 0, 2, tzinfo=UTC)
    row = ("id", None, 3, True, first, first, second, first, "ü")
    assert _text_params(row) == [_text_param(value) for value in row]
    assert _text_params(()) == []


def test_a_job_written_raw_reads_back_with_its_types(postgres_url: str) -> None:
    job_id = f"4{uuid.uuid4().int}"  # digits only: still text where the column is text
    record_queued(postgres_url, QueuedJob(id=job_id, kind="k", queue="q",
                                          args={"kwargs": {"x": "ü"}}, correlation_id="c"))
    for attempt in (1, 2):
        assert start_attempt(job_id, kind="k", queue="q", args={"kwargs": {}},
                             correlation_id="c", max_attempts=3, worker="w",
                             url=postgres_url).attempts == attempt
    assert mark_succeeded(job_id, result={"ok": [1, "ü"]}, url=postgres_url) is True
    assert mark_succeeded(job_id, result={"late": True}, url=postgres_url) is False
    (row,) = driver(postgres_url).fetch("SELECT * FROM jobs WHERE id = %s", (job_id,))
    assert (row["status"], row["attempts"], row["result"], row["last_exit_code"]) == \
        ("succeeded", 2, {"ok": [1, "ü"]}, 0)
    assert row["args"] == {"kwargs": {"x": "ü"}}  # a delivery does not rewrite them
    assert row["finished_at"].tzinfo is not None
    assert row["created_at"] <= row["started_at"] <= row["finished_at"] <= datetime.now(UTC)


def test_a_refused_write_raises_psycopgs_own_error(postgres_url: str) -> None:
    db = driver(postgres_url)
    with pytest.raises(psycopg.errors.NotNullViolation):
        db.write("INSERT INTO jobs (id) VALUES (%s)", ("no-kind",))
    assert db.write("SELECT %s::int + 1", (1,)) == [(2,)]  # the connection is fine after


def test_a_missing_table_is_a_settings_error(postgres_url: str) -> None:
    with pytest.raises(ConfigError, match="conveyor db upgrade"):
        driver(postgres_url).write("UPDATE no_such_table SET a = %s", (1,))


def test_a_killed_session_is_an_outage_then_the_next_write_reconnects(
        postgres_url: str) -> None:
    reset_drivers()
    db = driver(postgres_url)
    (pid,) = db.write("SELECT pg_backend_pid()")[0]
    with psycopg.connect(postgres_url.split("?")[0], autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        db.write("SELECT %s::int", (1,))
    (new_pid,) = db.write("SELECT pg_backend_pid()")[0]  # prepared again, new session
    assert new_pid != pid


def test_bookkeeping_commits_are_as_durable_as_on_sqlite(postgres_url: str) -> None:
    """synchronous_commit off on the driver's sessions (store/driver.py says why)."""
    reset_drivers()
    db = driver(postgres_url)
    assert db.write("SELECT current_setting(%s)", ("synchronous_commit",)) == [("off",)]
    assert db.execute("SHOW synchronous_commit") == [("off",)]


def test_a_url_that_sets_synchronous_commit_keeps_it(postgres_url: str) -> None:
    reset_drivers()
    durable = postgres_url + "%20-csynchronous_commit%3Don"
    assert driver(durable).write("SELECT current_setting(%s)", ("synchronous_commit",)) == \
        [("on",)]
    job_id = f"durable-{uuid.uuid4()}"
    record_queued(durable, QueuedJob(id=job_id, kind="k", queue="q", args={}))
    assert driver(durable).fetch("SELECT status FROM jobs WHERE id = %s", (job_id,)) == \
        [{"status": "queued"}]
