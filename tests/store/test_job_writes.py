"""The raw job writes must write what the ORM model reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.engine import get_engine
from store.job_writes import QueuedJob, record_queued
from store.models import Job


def test_raw_insert_round_trips_through_the_orm(db_url: str) -> None:
    record_queued(db_url, QueuedJob(id="raw-1", kind="tasks.probe.probe", queue="oord",
                                    args={"args": [], "kwargs": {"x": "é"}},
                                    correlation_id="corr", max_attempts=4))
    with Session(get_engine(db_url)) as session:
        job = session.scalars(select(Job).where(Job.id == "raw-1")).one()
    assert job.kind == "tasks.probe.probe"
    assert job.queue == "oord"
    assert job.args == {"args": [], "kwargs": {"x": "é"}}
    assert job.status == "queued"
    assert job.attempts == 0
    assert job.max_attempts == 4
    assert job.correlation_id == "corr"
    assert job.created_at.tzinfo is not None
    assert job.created_at == job.updated_at


def test_sqlite_fast_path_migrates_a_fresh_database(conveyor_home) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{conveyor_home / 'brand-new.db'}"
    record_queued(url, QueuedJob(id="raw-2", kind="k.m.f", queue="default", args={}))
    from store import jobs

    row = jobs.get_job("raw-2", url=url)
    assert row is not None and row["status"] == "queued"


def test_every_raw_write_reads_back_through_the_orm(db_url: str) -> None:
    from datetime import UTC, datetime

    from store import job_writes

    job_writes.start_attempt("raw-3", kind="k.m.f", queue="sweeps", args={"kwargs": {"n": 1}},
                             correlation_id=None, max_attempts=2, worker="w@h", url=db_url)
    when = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    job_writes.mark_retrying("raw-3", next_retry_at=when, error="later", url=db_url)
    with Session(get_engine(db_url)) as session:
        job = session.get(Job, "raw-3")
        assert job is not None
        assert (job.status, job.attempts, job.max_attempts, job.worker) == (
            "retrying", 1, 2, "w@h")
        assert job.next_retry_at == when
        assert job.args == {"kwargs": {"n": 1}}
        assert job.started_at is not None and job.started_at.tzinfo is not None
    job_writes.mark_failed("raw-3", error="no", exit_code=3, result={"code": "X"}, url=db_url)
    with Session(get_engine(db_url)) as session:
        job = session.get(Job, "raw-3")
        assert job is not None
        assert (job.status, job.last_exit_code, job.result, job.next_retry_at) == (
            "failed", 3, {"code": "X"}, None)
        assert job.finished_at is not None and job.finished_at >= job.started_at


def test_the_first_outcome_stands_against_a_late_duplicate(db_url: str) -> None:
    from store import job_writes, jobs

    job_writes.start_attempt("dup-1", kind="k.m.f", queue="default", args={},
                             correlation_id=None, max_attempts=3, worker="a@h", url=db_url)
    job_writes.mark_succeeded("dup-1", result={"ok": True}, url=db_url)
    # A second delivery of the same job, finishing later with another outcome.
    job_writes.mark_failed("dup-1", error="late", exit_code=1, url=db_url)
    job_writes.mark_succeeded("dup-1", result={"ok": "again"}, url=db_url)
    row = jobs.get_job("dup-1", url=db_url)
    assert row is not None
    assert (row["status"], row["result"], row["last_error"]) == ("succeeded", {"ok": True}, None)


def test_a_job_is_requeued_only_while_its_row_stays_idle_and_unfinished(db_url: str) -> None:
    from datetime import timedelta

    from common.clock import utc_now
    from store import job_writes, jobs

    for job_id in ("idle", "moved", "done"):
        record_queued(db_url, QueuedJob(id=job_id, kind="k.m.f", queue="default", args={}))
    cutoff = utc_now() + timedelta(milliseconds=1)
    while utc_now() <= cutoff:  # rows written before the cutoff, changes after it
        pass
    job_writes.start_attempt("moved", kind="k.m.f", queue="default", args={},
                             correlation_id=None, max_attempts=3, worker="a@h", url=db_url)
    job_writes.start_attempt("done", kind="k.m.f", queue="default", args={},
                             correlation_id=None, max_attempts=3, worker="a@h", url=db_url)
    job_writes.mark_succeeded("done", result=None, url=db_url)

    requeued = {job_id: job_writes.requeue_if_idle(job_id, idle_since=cutoff, reason="lost",
                                                   url=db_url)
                for job_id in ("idle", "moved", "done")}

    assert requeued == {"idle": True, "moved": False, "done": False}
    statuses = {job_id: (jobs.get_job(job_id, url=db_url) or {}).get("status")
                for job_id in requeued}
    assert statuses == {"idle": "queued", "moved": "running", "done": "succeeded"}
