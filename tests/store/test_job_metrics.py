"""The metrics queries against rows written as workers write them, on SQLite and PostgreSQL.

The expected figures are computed here in Python from the rows read back through the
ORM (store/jobs.py), not by SQL: two independent ways to the same numbers.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from store import job_writes, jobs
from store.engine import get_engine
from store.job_metrics import DURATION_BUCKETS_S, NO_CODE, job_figures
from store.job_writes import QueuedJob
from store.models.jobs import Job


def _job(db_url: str, job_id: str, kind: str, queue: str = "default") -> None:
    job_writes.record_queued(db_url, QueuedJob(id=job_id, kind=kind, queue=queue, args={}))


def _run(db_url: str, job_id: str, kind: str, times: int = 1) -> None:
    for _ in range(times):
        job_writes.start_attempt(job_id, kind=kind, queue="default", args={},
                                 correlation_id=None, max_attempts=5, worker="w", url=db_url)


def _seed(db_url: str) -> None:
    _job(db_url, "q1", "t.a", "oord")
    _job(db_url, "q2", "t.a", "oord")
    _job(db_url, "q3", "t.b", "pipelines")
    for job_id, kind, attempts in (("s1", "t.a", 1), ("s2", "t.a", 3), ("f1", "t.b", 2),
                                   ("f2", "t.b", 1), ("f3", "t.a", 1), ("c1", "t.b", 1)):
        _job(db_url, job_id, kind)
        _run(db_url, job_id, kind, attempts)
    job_writes.mark_succeeded("s1", result=None, url=db_url)
    job_writes.mark_succeeded("s2", result={"n": 1}, url=db_url)
    job_writes.mark_failed("f1", error="quota", exit_code=4, url=db_url,
                           result={"code": "QUOTA", "message": "quota", "exit_code": 4})
    job_writes.mark_failed("f2", error="quota", exit_code=4, url=db_url,
                           result={"code": "QUOTA", "message": "quota", "exit_code": 4})
    job_writes.mark_failed("f3", error="ValueError: boom", exit_code=None, url=db_url)
    job_writes.mark_canceled("c1", reason="operator", url=db_url)
    # Durations spread over the buckets, and one queued job an hour old.
    start = datetime(2026, 12, 1, tzinfo=UTC)
    with get_engine(db_url).begin() as conn:
        for job_id, seconds in (("s1", 0.003), ("s2", 42.5), ("f1", 700.0), ("f2", 1.0)):
            conn.execute(update(Job).where(Job.id == job_id).values(
                started_at=start, finished_at=start + timedelta(seconds=seconds)))
        conn.execute(update(Job).where(Job.id == "q1").values(
            created_at=datetime.now(UTC) - timedelta(hours=1)))


def test_figures_match_the_rows(db_url: str) -> None:
    _seed(db_url)
    rows = jobs.list_jobs(limit=1000, url=db_url)
    figures = job_figures(db_url)

    assert figures.by_kind_status == dict(Counter((r["kind"], r["status"]) for r in rows))
    kinds = {r["kind"] for r in rows}
    assert figures.attempts == {k: sum(r["attempts"] for r in rows if r["kind"] == k)
                                for k in kinds}
    assert figures.retries == {k: sum(max(r["attempts"] - 1, 0) for r in rows
                                      if r["kind"] == k) for k in kinds}
    assert figures.retries == {"t.a": 2, "t.b": 1}
    assert figures.failures == {("t.b", "QUOTA"): 2, ("t.a", NO_CODE): 1}

    oldest = datetime.fromisoformat(jobs.get_job("q1", url=db_url)["created_at"])  # type: ignore[index]
    assert abs((figures.oldest_queued_at["oord"] - oldest).total_seconds()) < 0.001  # ms in JSON
    assert set(figures.oldest_queued_at) == {"oord", "pipelines"}

    finished = [r for r in rows if r["status"] in ("succeeded", "failed")]
    by_kind = {d.kind: d for d in figures.durations}
    for kind in kinds:
        seconds = [(datetime.fromisoformat(r["finished_at"])
                    - datetime.fromisoformat(r["started_at"])).total_seconds()
                   for r in finished if r["kind"] == kind]
        found = by_kind[kind]
        assert found.count == len(seconds)
        assert abs(found.sum_s - sum(seconds)) < 0.01
        assert found.cumulative == tuple(sum(1 for s in seconds if s <= bound)
                                         for bound in DURATION_BUCKETS_S)


def test_an_empty_table_has_no_figures(db_url: str) -> None:
    figures = job_figures(db_url)
    assert (figures.by_kind_status, figures.failures, figures.durations) == ({}, {}, [])
