"""Exam TTL sweep benchmark, and the cold start of the pure exam commands.

In one run:
  1. the set-based sweep (domain.exam.sweep) over 10,000 and 100,000 sessions, 1 %
     of them expired, on SQLite and on PostgreSQL: median of several sweeps each
     (the swept rows are put back between sweeps), and the growth ratio 100k / 10k;
  2. wall time of a cold `session-identity validate` and `failure-classification
     classify` process against `python -c pass`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchReport, Figure, interleaved, median, time_command

SIZES = (10_000, 100_000)
EXPIRED_SHARE = 0.01
SWEEPS = 9
LINEAR_TOLERANCE = 1.2
CLI_RUNS = 15
PG_URL = os.environ.get("CONVEYOR_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _seed(url: str, count: int) -> None:
    from sqlalchemy import delete, insert

    from common.clock import utc_now
    from store.engine import session_scope
    from store.models.exam import ExamEnvironment, ExamSession

    now = utc_now()
    expired_every = int(1 / EXPIRED_SHARE)
    columns = [c.key for c in ExamSession.__table__.columns]
    rows: list[dict[str, Any]] = []
    for i in range(count):
        running = i % 2 == 0
        ran_s = 7300 if i % expired_every == 0 else 600
        start = now - timedelta(seconds=ran_s if running or i % expired_every == 0 else 60)
        row: dict[str, Any] = dict.fromkeys(columns)
        row.update(id=str(uuid.uuid4()), user_id=str(uuid.uuid4()),
                   state="running" if running or i % expired_every == 0 else "ready",
                   duration_seconds=7200, created_at=start, updated_at=start,
                   last_transition_at=start, last_activity_at=start,
                   abandon_at=start + timedelta(seconds=14_400))
        if row["state"] == "running":
            row.update(running_at=start, expires_at=start + timedelta(seconds=7200))
        rows.append(row)
    with session_scope(url) as db:
        db.execute(delete(ExamEnvironment))
        db.execute(delete(ExamSession))
        for chunk in range(0, count, 5000):
            db.execute(insert(ExamSession), rows[chunk:chunk + 5000])


def _restore(url: str, ids: list[str]) -> None:
    from sqlalchemy import update

    from store.engine import session_scope
    from store.models.exam import ExamSession

    with session_scope(url) as db:
        for chunk in range(0, len(ids), 5000):
            db.execute(update(ExamSession).where(ExamSession.id.in_(ids[chunk:chunk + 5000]))
                       .values(state="running", reason=None, terminated_at=None))


def _one_sweep(url: str, cleaned: list[int]) -> float:
    """Seconds of one sweep; the rows it ended are put back afterwards (not timed)."""
    from domain.exam.sweep import sweep

    started = time.perf_counter()
    result = sweep(url=url)
    elapsed = time.perf_counter() - started
    cleaned.append(len(result.cleaned))
    _restore(url, result.cleaned)
    return elapsed


def _postgres_url() -> tuple[str, str] | None:
    try:
        import psycopg

        schema = f"conveyor_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception:
        return None
    return f"{PG_URL}?options=-csearch_path%3D{schema}", schema


def _sqlite_url(folder: Path, name: str) -> str:
    return f"sqlite:///{folder / name}.db"


def _drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _sweep_figures(report: BenchReport, label: str, urls: dict[int, str]) -> None:
    """Both sizes seeded in databases of their own, then swept in alternating rounds."""
    from store.migrate import upgrade

    cleaned: dict[int, list[int]] = {size: [] for size in SIZES}
    for size, url in urls.items():
        upgrade(url)
        _seed(url, size)
    small, large = SIZES
    small_times, large_times = interleaved(
        SWEEPS, lambda: _one_sweep(urls[small], cleaned[small]),
        lambda: _one_sweep(urls[large], cleaned[large]))
    t_small, t_large = median(small_times), median(large_times)
    c_small, c_large = cleaned[small][0], cleaned[large][0]
    # Linear work grows 10x here, so a linear sweep measures 10x give or take noise and
    # page effects; the tolerance tells that apart from n log n at scale or n^2 (100x).
    limit = large / small * LINEAR_TOLERANCE
    report.figures.append(Figure(
        f"sweep of {large:,} sessions ({c_large:,} expired), {label}", t_large * 1000,
        f"{small:,} sessions ({c_small:,} expired)", t_small * 1000, "ms",
        f"<= {limit:g}x (linear, +20 %)", t_large <= limit * t_small))


def run() -> BenchReport:
    from store.engine import dispose_engines

    report = BenchReport("Exam: TTL sweep and cold start of the pure commands",
                         "python -m bench sweep")
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-sweep-") as tmp:
        _sweep_figures(report, "SQLite",
                       {size: _sqlite_url(Path(tmp), f"s{size}") for size in SIZES})
    schemas = [_postgres_url() for _ in SIZES]
    try:
        if any(s is None for s in schemas):
            report.notes.append(f"PostgreSQL was not reachable at {PG_URL}: no PostgreSQL "
                                "figure.")
        else:
            _sweep_figures(report, "PostgreSQL",
                           {size: s[0] for size, s in zip(SIZES, schemas, strict=True) if s})
    finally:
        dispose_engines()
        for made in schemas:
            if made is not None:
                _drop_schema(made[1])

    bin_dir = Path(sys.executable).parent
    user, session = "550e8400-e29b-41d4-a716-446655440000", "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    python = time_command([sys.executable, "-c", "pass"], runs=CLI_RUNS)
    for name, argv in [
        ("session-identity validate", [str(bin_dir / "session-identity"), "validate",
                                       "--user-id", user, "--session-id", session]),
        ("failure-classification classify", [str(bin_dir / "failure-classification"),
                                             "classify", "--type", "init", "--context",
                                             '{"reason": "ImagePullBackOff"}']),
    ]:
        cold = median(time_command(argv, runs=CLI_RUNS))
        report.figures.append(Figure(f"cold `{name}`", cold, "`python -c pass`",
                                     median(python), "s", "<= 0.15 s median wall",
                                     cold <= 0.15))
    report.notes += [
        f"Sweep: median of {SWEEPS} sweeps per size, the sizes in databases of their own and "
        "swept in alternating rounds; each sweep is one transaction of two "
        "set-based UPDATE ... RETURNING statements; the swept rows are put back between "
        "sweeps. Half the sessions run, half are ready; 1 % ran past their duration.",
        "SQLite's figure sits at the linear line (8.8x to 11.2x over five runs on "
        "2026-11-21): the 1,000-row sweep writes more than SQLite's 1,000-page WAL "
        "auto-checkpoint threshold inside its own transaction and pays for a checkpoint, "
        "the 100-row sweep does not. With the checkpoint moved out of the way "
        "(wal_autocheckpoint raised, measured once) the large sweep takes 29 ms, 7.7x.",
        f"Cold start: whole processes, median of {CLI_RUNS} runs each; these commands import "
        "neither SQLAlchemy, Celery nor the Kubernetes client.",
        f"Run from {ROOT.name}.",
    ]
    return report


if __name__ == "__main__":
    run().print()
