"""Scaling evidence for docs/scaling.md: what one Redis, one database, more worker
processes and Flower cost per job, measured here so the 10x/100x claims rest on numbers.

1. Redis work per job: commands and server CPU time (INFO commandstats) for a persisted
   job against a bare Celery job, on the same Redis and worker.
2. Worker processes: burst throughput with two worker processes against one.
3. The jobs table: bookkeeping writes per second (publish, start, finish of a job) from
   8 threads, PostgreSQL against SQLite.
4. Flower: resident memory per 1,000 tasks it has seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchReport, Figure, median, private_stack

JOBS = 400
ROUNDS = 3
WRITE_JOBS = 2000
WRITE_THREADS = 8
FLOWER_TASKS = 3000


def _redis(env: dict[str, str]) -> Any:
    import redis

    return redis.Redis.from_url(env["CONVEYOR_BROKER_URL"])


def _commandstats(client: Any) -> tuple[int, int]:
    stats = client.info("commandstats")
    return (sum(v["calls"] for v in stats.values()), sum(v["usec"] for v in stats.values()))


def _client(kind: str, env: dict[str, str], n: int = JOBS) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.queue_client", kind, str(n)], env=env,
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def redis_cost_per_job() -> dict[str, tuple[float, float]]:
    """(commands, server microseconds) per job, persisted and bare; medians of rounds."""
    costs: dict[str, list[tuple[float, float]]] = {"bare": [], "persisted": []}
    with private_stack(["default"]) as env:
        client = _redis(env)
        for _ in range(ROUNDS):
            for kind in ("bare", "persisted"):
                client.config_resetstat()
                calls0, usec0 = _commandstats(client)
                _client(kind, env)
                calls1, usec1 = _commandstats(client)
                jobs = 2 * JOBS + 1  # sequential, burst, and one warm-up job
                costs[kind].append(((calls1 - calls0) / jobs, (usec1 - usec0) / jobs))
    return {kind: (median([c for c, _ in v]), median([u for _, u in v]))
            for kind, v in costs.items()}


def _cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _worker_pids(env: dict[str, str]) -> list[int]:
    needle = f"CONVEYOR_HOME={env['CONVEYOR_HOME']}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0") and \
                        b"worker" in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def worker_process_scaling() -> tuple[float, float]:
    """Burst throughput (jobs/s) with one worker process and with two (2 threads each)."""
    rates = []
    for workers in (1, 2):
        with private_stack(["default"], concurrency=2, workers=workers) as env:
            rates.append(median([_client("persisted", env)["throughput_per_s"]
                                 for _ in range(ROUNDS)]))
    return rates[0], rates[1]


def worker_cpu_per_job() -> dict[str, float]:
    """Worker CPU milliseconds per job, persisted and bare, on one worker process."""
    cpu_ms: dict[str, list[float]] = {"bare": [], "persisted": []}
    with private_stack(["default"], concurrency=2) as env:
        pids = _worker_pids(env)
        for _ in range(ROUNDS):
            for kind in ("bare", "persisted"):
                before = _cpu_s(pids)
                _client(kind, env)
                cpu_ms[kind].append((_cpu_s(pids) - before) * 1000 / (2 * JOBS + 1))
    return {kind: median(values) for kind, values in cpu_ms.items()}


def _rate_of_threads(prepare: Callable[[int], Callable[[], None]]) -> float:
    """Jobs per second of WRITE_THREADS threads together. Each thread first runs
    ``prepare(index)`` untimed (its connection opened, its statements prepared: a
    worker's are, long before a burst), then the work it returned, all from one start."""
    ready = threading.Barrier(WRITE_THREADS + 1)

    def run(index: int) -> None:
        work = prepare(index)
        ready.wait()
        work()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(WRITE_THREADS)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return WRITE_JOBS / (time.perf_counter() - started)


def _write_rate(url: str) -> float:
    """Whole jobs' bookkeeping through store/job_writes.py, as the CLIs and workers do it."""
    from store import job_writes
    from store.engine import get_engine

    get_engine(url)  # migrated before timing
    ids = [str(uuid.uuid4()) for _ in range(WRITE_JOBS + WRITE_THREADS)]

    def one_job(job_id: str) -> None:
        job_writes.record_queued(url, job_writes.QueuedJob(
            id=job_id, kind="bench.k", queue="default", args={}))
        job_writes.start_attempt(job_id, kind="bench.k", queue="default", args={},
                                 correlation_id=None, max_attempts=3, worker="w", url=url)
        job_writes.mark_succeeded(job_id, result=None, url=url)

    def prepare(index: int) -> Callable[[], None]:
        one_job(ids[WRITE_JOBS + index])  # this thread's connection and statements
        chunk = ids[index:WRITE_JOBS:WRITE_THREADS]

        def work() -> None:
            for job_id in chunk:
                one_job(job_id)

        return work

    return _rate_of_threads(prepare)


def _bare_libpq_rate(url: str) -> float:
    """Jobs per second of the three bookkeeping statements alone: each thread's own
    connection, prepared, parameters ready as bytes, no Python of Conveyor's between."""
    import psycopg

    from store import job_writes
    from store.driver import _numbered_placeholders, driver
    from store.urls import libpq_url

    db = driver(url)
    finish = job_writes._update_sql(("status", "result", "last_exit_code", "next_retry_at",
                                     "finished_at", "updated_at"), True, db.placeholder,
                                    db.json_placeholder)
    statements = [_numbered_placeholders(sql).encode() for sql in (
        db.sql(job_writes._INSERT_QUEUED), db.sql(job_writes._START_ATTEMPT), finish)]
    ids = [str(uuid.uuid4()).encode() for _ in range(WRITE_JOBS)]
    connections: list[Any] = []

    def prepare(index: int) -> Callable[[], None]:
        conn = psycopg.connect(libpq_url(url), autocommit=True)
        connections.append(conn)
        conn.execute("SET synchronous_commit TO off")
        pgconn: Any = conn.pgconn  # libpq takes None for NULL; psycopg's stubs do not say so
        for number, sql in enumerate(statements):
            pgconn.prepare(f"s{number}".encode(), sql)

        def work() -> None:
            for job_id in ids[index::WRITE_THREADS]:
                now = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()).encode()
                pgconn.exec_prepared(b"s0", [job_id, b"bench.k", b"default", b"{}", None,
                                             None, None, now, now])
                pgconn.exec_prepared(b"s1", [job_id, b"bench.k", b"default", b"{}", b"3",
                                             None, b"w", now, now, now])
                pgconn.exec_prepared(b"s2", [b"succeeded", None, b"0", None, now, now,
                                             job_id])

        return work

    try:
        return _rate_of_threads(prepare)
    finally:
        for conn in connections:
            conn.close()


def jobs_table_rates() -> tuple[float, float | None, float | None, float | None]:
    """Bookkeeping of whole jobs per second: SQLite, and PostgreSQL if it answers, as
    Conveyor configures it, with every commit waiting for its WAL flush, and the same
    statements from a bare libpq loop."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sqlite = median([_write_rate(f"sqlite:///{tmp}/jobs{i}.db") for i in range(ROUNDS)])
    return (sqlite, _postgres_rate(_write_rate), _postgres_rate(_write_rate, "on"),
            _postgres_rate(_bare_libpq_rate))


def _postgres_rate(rate: Callable[[str], float],
                   synchronous_commit: str | None = None) -> float | None:
    import psycopg

    base = os.environ.get("CONVEYOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(base, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except psycopg.OperationalError:
        return None
    url = f"{base}?options=-csearch_path%3D{schema}"
    if synchronous_commit:  # a URL option store/driver.py leaves in place
        url += f"%20-csynchronous_commit%3D{synchronous_commit}"
    try:
        from store.migrate import upgrade

        upgrade(url)
        return median([rate(url) for _ in range(ROUNDS)])
    finally:
        from store.engine import dispose_engines

        dispose_engines()
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def flower_memory_per_1000_tasks() -> tuple[float, float]:
    """Flower's resident memory (MB) before any task, and its growth per 1,000 tasks."""
    from workers.ports import free_port

    with private_stack(["default"]) as env:
        port = free_port()
        flower = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "flower", f"--port={port}",
             "--address=127.0.0.1"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            time.sleep(3)  # Flower has no readiness signal: let it connect and settle
            before = _rss_kb(flower.pid)
            _client("persisted", env, FLOWER_TASKS // 2)  # sequential + burst = FLOWER_TASKS
            time.sleep(2)  # the last events reach Flower
            after = _rss_kb(flower.pid)
        finally:
            flower.terminate()
            flower.wait(timeout=30)
    return before / 1024, (after - before) / 1024 / (FLOWER_TASKS / 1000)


def run() -> BenchReport:
    report = BenchReport("Scaling: what one job costs Redis, the database, workers, Flower",
                         "./run bench scaling")
    cost = redis_cost_per_job()
    (bare_calls, bare_usec), (calls, usec) = cost["bare"], cost["persisted"]
    one, two = worker_process_scaling()
    worker_cpu = worker_cpu_per_job()
    worker_cpu_ms = worker_cpu["persisted"]
    sqlite_rate, pg_rate, pg_flushed_rate, pg_bare_rate = jobs_table_rates()
    flower_base, flower_per_k = flower_memory_per_1000_tasks()
    report.figures += [
        Figure("Redis commands per persisted job", calls, "bare Celery job", bare_calls, "cmds"),
        Figure("Redis server CPU per persisted job", usec, "bare Celery job", bare_usec, "µs"),
        Figure("burst throughput, 2 worker processes", two, "1 worker process", one, "jobs/s"),
        Figure("worker CPU per persisted job", worker_cpu_ms, "bare Celery job",
               worker_cpu["bare"], "ms"),
        Figure(f"jobs-table bookkeeping, PostgreSQL, {WRITE_THREADS} threads",
               pg_rate or 0.0, "SQLite", sqlite_rate, "jobs/s", ">= 1x",
               (pg_rate or 0.0) >= sqlite_rate),
        Figure("the same, PostgreSQL with synchronous_commit on (URL option)",
               pg_flushed_rate or 0.0, "SQLite", sqlite_rate, "jobs/s"),
        Figure("the same statements from a bare libpq loop, PostgreSQL", pg_bare_rate or 0.0,
               "SQLite", sqlite_rate, "jobs/s"),
        Figure("Flower memory per 1,000 tasks seen", flower_per_k,
               "Flower at start", flower_base, "MB"),
    ]
    ceiling = 1e6 / usec if usec else float("inf")
    report.notes += [
        f"One worker core does about {1000 / worker_cpu_ms:,.0f} persisted no-op jobs/s "
        "(its CPU per job above); workers share nothing but Redis and the database, so "
        "capacity grows with worker cores until one of those saturates.",
        f"One Redis core at this CPU cost: about {ceiling:,.0f} persisted jobs/s before Redis "
        "itself saturates (a single-threaded server), far above what a worker process does.",
        "Each job's bookkeeping is 3 writes (queued, running, finished); the table rates are "
        "whole jobs per second from one process with 8 threads.",
        "Both databases as Conveyor configures them, equally durable: SQLite in WAL mode with "
        "synchronous=NORMAL and PostgreSQL with synchronous_commit off (store/driver.py) "
        "both keep every commit through a crash of any client process and may lose the "
        "last ones to a crash of the machine (PostgreSQL: of its server), never a torn "
        "row. A URL with options=-csynchronous_commit%3Don makes each PostgreSQL commit "
        "wait for its WAL flush: the second PostgreSQL figure. On PostgreSQL each write "
        "is one round trip: the thread's own connection, autocommit, the statement "
        "prepared server-side and run straight through libpq (PGconn.exec_prepared).",
        "Where PostgreSQL's time goes: the bare libpq figure runs the same three prepared "
        "statements per job from 8 threads with nothing around them; the distance from it "
        "to Conveyor's figure is the client's CPU (job_writes' Python, about 12 us a write "
        "against a stubbed connection, and the GIL passed between 8 threads at every round "
        "trip), on the 2 cores the server needs too.",
        f"Throughput figures are medians of {ROUNDS} bursts of {JOBS} jobs; this machine has "
        f"{os.cpu_count()} cores shared by the producer, the workers and Redis, so two worker "
        "processes can at most use the second core.",
        f"Flower: {FLOWER_TASKS} tasks; it keeps at most --max_tasks task records "
        "(default 100,000), so its memory is bounded by that cap, not by the load.",
    ]
    return report


if __name__ == "__main__":
    run().print()
