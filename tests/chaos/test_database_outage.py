"""The jobs database locked (SQLite) or cut off (PostgreSQL) for seconds in the middle of a
batch: every job still ends succeeded, once, and no row is left half-written."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import pytest

from store import jobs
from tests.support.cli import start_submit_and_wait
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BATCH = 150
# Longer than a bookkeeping write retries in process (~3.4 s, workers/transient.py), so
# PostgreSQL writes give up and the jobs go through Celery's retries; and longer than a
# waiting client's row check interval (5 s, cli/jobs_client.py), so one falls inside.
OUTAGE_S = 5.5
# A statement PostgreSQL received before the cut still commits: the writes are counted
# from this far into the outage on.
IN_FLIGHT_S = 1.0
UNFINISHED = ("queued", "running", "retrying")


class Outage(Protocol):
    name: str

    def begin(self) -> None: ...

    def end(self) -> None: ...


@dataclass
class SqliteWriteLock:
    """Another process's long write transaction: every writer has to wait for it."""

    path: Path
    name: str = "sqlite locked"
    conn: sqlite3.Connection | None = None

    def begin(self) -> None:
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        assert self.conn is not None
        self.conn.execute("COMMIT")
        self.conn.close()


@dataclass
class PostgresCut:
    """The workers' way to PostgreSQL cut: connections dropped, new ones refused."""

    proxy: TcpProxy
    name: str = "postgresql unreachable"

    def begin(self) -> None:
        self.proxy.cut()

    def end(self) -> None:
        self.proxy.restore()


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2
                                     else host))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def outage(request: pytest.FixtureRequest, job_env: dict[str, str],
           monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    """The outage to inflict; the workers' database is set in job_env accordingly."""
    from config.settings import get_settings, reset_settings
    from store.urls import sqlite_path

    if request.param == "sqlite":
        path = sqlite_path(get_settings().effective_database_url)
        assert path is not None
        yield SqliteWriteLock(path)
        return
    from tests.conftest import _truncate_postgres

    url = request.getfixturevalue("postgres_url")
    _truncate_postgres(url)
    target = urlsplit(url)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 5432)).start()
    # This process reads the rows directly; the workers and the waiting CLI go through
    # the proxy.
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    reset_settings()
    job_env["CONVEYOR_DATABASE_URL"] = _through(proxy, url)
    yield PostgresCut(proxy)
    proxy.stop()


def _statuses() -> Counter[str]:
    return Counter(row["status"] for row in jobs.list_jobs(limit=BATCH * 2))


def _wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _worker_log_count(tmp_path: Path, event: str) -> int:
    return sum(log.read_text().count(f'"{event}"') for log in tmp_path.glob("test-*.log"))


def test_jobs_ride_out_a_database_outage(outage: Outage, job_env: dict[str, str],
                                         start_worker, celery_client, tmp_path: Path,
                                         conveyor_home: Path) -> None:
    marker, blocker = tmp_path / "marker", tmp_path / "blocker"
    (marker / "effects").mkdir(parents=True)
    blocker.mkdir()
    for _ in range(2):
        start_worker(["default"], concurrency=4)
    # Given a CLI waiting on a running job, and a batch of jobs under way ...
    cli = start_submit_and_wait("tests.support.tasks.blocking", {"marker_dir": str(blocker)},
                                job_env)
    _wait_for(lambda: (blocker / "log").exists(), "the CLI's job to start")
    submitted = [celery_client.submit("tests.support.tasks.effect",
                                      {"marker_dir": str(marker), "key": f"k{index}",
                                       "sleep_ms": 50})
                 for index in range(BATCH)]
    _wait_for(lambda: len(jobs.list_jobs(status="succeeded", limit=BATCH // 10)) == BATCH // 10,
              "the batch to get going")

    # When the database is locked or unreachable for a few seconds ...
    outage.begin()
    began, pause = time.monotonic(), threading.Event()
    pause.wait(IN_FLIGHT_S)  # the outage itself: nothing to poll for
    finished_before = _statuses()["succeeded"]
    pause.wait(OUTAGE_S - IN_FLIGHT_S)
    finished_during = _statuses()["succeeded"] - finished_before
    outage.end()
    outage_s = time.monotonic() - began
    (blocker / "release").touch()

    # ... then every job succeeds, once, and the waiting CLI gets its answer.
    results = [celery_client.wait(job, timeout_s=120) for job in submitted]
    out, err = cli.communicate(timeout=120)
    assert cli.returncode == 0, err
    assert "Traceback" not in err, err
    assert json.loads(out)["result"] == {"ok": True}
    assert finished_before < BATCH, "the outage began after the batch had finished"
    assert finished_during == 0, "the outage did not stop the writes"
    assert results == [{"key": f"k{index}"} for index in range(BATCH)]

    rows = [jobs.get_job(job.job_id) for job in submitted]
    statuses = Counter(row["status"] if row else "missing" for row in rows)
    assert statuses == {"succeeded": BATCH}, statuses
    assert not any(_statuses()[status] for status in UNFINISHED), _statuses()
    for row, result in zip(rows, results, strict=True):
        assert row is not None
        assert row["attempts"] >= 1 and row["result"] == result, row
        assert (row["last_exit_code"], row["next_retry_at"]) == (0, None), row
        assert row["finished_at"] is not None, row
    effects = {path.name for path in (marker / "effects").iterdir()}
    assert effects == {f"k{index}" for index in range(BATCH)}  # no temp file left either
    executions = Counter((marker / "executions.log").read_text().split())
    bookkeeping_retries = _worker_log_count(tmp_path, "job_bookkeeping_retry")
    cli_log = conveyor_home / "logs" / "cli.log"
    cli_reads_refused = (cli_log.read_text().count("the jobs database is unavailable")
                         if cli_log.exists() else 0)
    if isinstance(outage, PostgresCut):
        assert bookkeeping_retries >= 1, "no write outlasted its in-process retries"
        assert cli_reads_refused >= 1, "the waiting CLI never read its row during the outage"
    redelivered = sum(1 for row in rows if row is not None and row["attempts"] > 1)
    print(f"database outage ({outage.name}): {BATCH} jobs, outage {outage_s:.1f} s, "
          f"{BATCH - finished_before} unfinished once it held, {finished_during} finished in "
          f"it, {bookkeeping_retries} bookkeeping retries, "
          f"{redelivered} jobs with attempts > 1, {statuses['succeeded']} succeeded, "
          f"{len(effects)} effects applied once "
          f"({sum(executions.values()) - len(executions)} re-executions), waiting CLI ok "
          f"({cli_reads_refused} row reads refused)")
