"""The jobs table on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from common.clock import utc_now
from store import job_writes, jobs
from store.job_writes import QueuedJob, record_queued


def _start(job_id: str, url: str) -> job_writes.AttemptStart:
    return job_writes.start_attempt(job_id, kind="tasks.x.y", queue="default", args={"args": [1]},
                              correlation_id="c-1", max_attempts=3, worker="w@h", url=url)


def test_publish_then_run_then_succeed(db_url: str) -> None:
    record_queued(db_url, QueuedJob(id="j1", kind="tasks.x.y", queue="default",
                                    args={"args": [1], "kwargs": {}}, correlation_id="c-1"))
    row = jobs.get_job("j1", url=db_url)
    assert row is not None
    assert (row["status"], row["attempts"], row["queue"]) == ("queued", 0, "default")
    assert row["created_at"].endswith("Z")

    assert _start("j1", db_url).attempts == 1
    job_writes.mark_succeeded("j1", result={"answer": 42}, url=db_url)

    row = jobs.get_job("j1", url=db_url)
    assert row is not None
    assert row["status"] == "succeeded"
    assert row["result"] == {"answer": 42}
    assert row["last_exit_code"] == 0
    assert row["max_attempts"] == 3
    assert row["finished_at"] is not None


def test_every_delivery_counts_an_attempt(db_url: str) -> None:
    assert [_start("j2", db_url).attempts for _ in range(3)] == [1, 2, 3]


def test_a_finished_job_is_not_started_again(db_url: str) -> None:
    _start("j3", db_url)
    job_writes.mark_failed("j3", error="boom", exit_code=5, result={"code": "X"}, url=db_url)
    again = _start("j3", db_url)
    assert again.finished
    row = jobs.get_job("j3", url=db_url)
    assert row is not None and (row["status"], row["attempts"]) == ("failed", 1)


def test_retry_metadata_is_persisted(db_url: str) -> None:
    _start("j4", db_url)
    when = utc_now() + timedelta(seconds=30)
    job_writes.mark_retrying("j4", next_retry_at=when, error="API unavailable", url=db_url)
    row = jobs.get_job("j4", url=db_url)
    assert row is not None
    assert row["status"] == "retrying"
    assert row["last_error"] == "API unavailable"
    assert row["next_retry_at"] is not None
    # A new delivery clears the countdown and counts again.
    assert _start("j4", db_url).attempts == 2
    row = jobs.get_job("j4", url=db_url)
    assert row is not None and row["next_retry_at"] is None


def test_publish_never_overwrites_a_running_job(db_url: str) -> None:
    _start("j5", db_url)
    record_queued(db_url, QueuedJob(id="j5", kind="tasks.x.y", queue="default", args={}))
    row = jobs.get_job("j5", url=db_url)
    assert row is not None and row["status"] == "running"


def test_list_filters_and_orders_newest_first(db_url: str) -> None:
    for i, kind in enumerate(["a.b.c", "a.b.d", "a.b.c"]):
        record_queued(db_url, QueuedJob(id=f"l{i}", kind=kind, queue="default", args={}))
    _start("l1", db_url)
    assert [r["id"] for r in jobs.list_jobs(url=db_url)] == ["l2", "l1", "l0"]
    assert [r["id"] for r in jobs.list_jobs(kind="a.b.c", url=db_url)] == ["l2", "l0"]
    assert [r["id"] for r in jobs.list_jobs(status="running", url=db_url)] == ["l1"]
    assert len(jobs.list_jobs(limit=1, url=db_url)) == 1


def test_prune_deletes_only_old_finished_jobs(db_url: str) -> None:
    for job_id in ("p-old", "p-new", "p-running"):
        _start(job_id, db_url)
    job_writes.mark_succeeded("p-old", result=None, url=db_url)
    job_writes.mark_succeeded("p-new", result=None, url=db_url)
    assert jobs.prune_finished(older_than=timedelta(days=1), url=db_url) == 0
    assert jobs.prune_finished(older_than=timedelta(seconds=-1), url=db_url) == 2
    assert [r["id"] for r in jobs.list_jobs(url=db_url)] == ["p-running"]


def test_progress_is_visible(db_url: str) -> None:
    _start("g1", db_url)
    job_writes.set_progress("g1", "matrix C (3/13)", url=db_url)
    row = jobs.get_job("g1", url=db_url)
    assert row is not None and row["progress"] == "matrix C (3/13)"


def test_text_no_row_can_hold_finds_nothing(db_url: str) -> None:
    # Found by tests/fuzz: `conveyor jobs show $'\xff'` crashed in the SQLite driver (a lone
    # surrogate cannot be encoded); PostgreSQL refuses NUL in text.
    record_queued(db_url, QueuedJob(id="j-text", kind="tasks.x.y", queue="default", args={}))
    for value in ("j-text\udcff", "j-text\x00"):
        assert jobs.get_job(value, url=db_url) is None
        assert jobs.list_jobs(kind=value, url=db_url) == []
    assert [row["id"] for row in jobs.list_jobs(kind="tasks.x.y", url=db_url)] == ["j-text"]
