"""Shared fixtures: an isolated state folder per test, databases, Redis, workers."""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.settings import reset_settings
from tests.support.env import skip_or_fail
from tests.support.redis import RedisServer, start_redis
from tests.support.workers import WorkerProcess

PG_BASE_URL = os.environ.get("CONVEYOR_TEST_POSTGRES",
                             "postgresql://postgres@127.0.0.1:5432/test")
# Integration workers redeliver a killed worker's job after this many seconds.
TEST_VISIBILITY_TIMEOUT_S = "3"
TEST_LEASE_RENEW_S = "0.5"


def _clean_environ(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("CONVEYOR_", "SYNORA_", "YELLOW_PLUGINS_", "OORD_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONVEYOR_HOME", str(home))


@pytest.fixture(autouse=True)
def conveyor_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own state folder and no Conveyor settings from outside."""
    home = tmp_path / "conveyor-home"
    _clean_environ(monkeypatch, home)
    reset_settings()
    yield home
    reset_settings()
    from store.engine import dispose_engines

    dispose_engines()


# ---- databases ---------------------------------------------------------------------------

def _pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_BASE_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A private, migrated schema in the PostgreSQL test database."""
    if not _pg_available():
        skip_or_fail(f"PostgreSQL not reachable at {PG_BASE_URL}")
    import psycopg

    schema = f"conveyor_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_BASE_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    from store.migrate import upgrade

    upgrade(url)
    yield url
    from store.engine import dispose_engines

    dispose_engines()
    with psycopg.connect(PG_BASE_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, conveyor_home: Path,
           monkeypatch: pytest.MonkeyPatch) -> str:
    """The same test on SQLite (in the state folder) and on PostgreSQL; set as configured."""
    if request.param == "sqlite":
        url = f"sqlite:///{conveyor_home / 'conveyor.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        _truncate_postgres(url)
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", url)
    reset_settings()
    return url


def _truncate_postgres(url: str) -> None:
    from sqlalchemy import text

    from store.engine import get_engine
    from store.models import Base

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))


# ---- Redis and workers -------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except Exception as exc:  # no binary, cannot bind
        skip_or_fail(f"cannot start redis-server: {exc}")
    yield server
    server.stop()


@pytest.fixture
def redis_db(redis_server: RedisServer) -> Iterator[RedisServer]:
    """The session's Redis, emptied before and after the test."""
    client = redis_server.client()
    client.flushall()
    yield redis_server
    client.flushall()


@pytest.fixture
def job_env(redis_db: RedisServer, conveyor_home: Path, monkeypatch: pytest.MonkeyPatch,
            tmp_path: Path) -> dict[str, str]:
    """Settings for workers and for this process: the private Redis, a SQLite database."""
    env = {
        "CONVEYOR_HOME": str(conveyor_home),
        "CONVEYOR_BROKER_URL": redis_db.db_url(0),
        "CONVEYOR_RESULT_BACKEND": redis_db.db_url(1),
        "CONVEYOR_VISIBILITY_TIMEOUT_S": TEST_VISIBILITY_TIMEOUT_S,
        "CONVEYOR_LEASE_RENEW_S": TEST_LEASE_RENEW_S,
        "CONVEYOR_UNACKED_RESTORE_S": "0.5",
        "CONVEYOR_NO_WORKER_GRACE_S": "1",
        "CONVEYOR_EXTRA_TASK_MODULES": "tests.support.tasks",
        "CONVEYOR_LOG_FORMAT": "json",
    }
    if "CONVEYOR_DATABASE_URL" in os.environ:
        env["CONVEYOR_DATABASE_URL"] = os.environ["CONVEYOR_DATABASE_URL"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    return {**os.environ, **env}


@pytest.fixture
def start_worker(job_env: dict[str, str], redis_db: RedisServer,
                 tmp_path: Path) -> Iterator[Any]:
    """start_worker(queues, **options) -> a ready WorkerProcess; all stopped at the end."""
    started: list[WorkerProcess] = []
    client = redis_db.client()

    def start(queues: list[str], **options: Any) -> WorkerProcess:
        worker = WorkerProcess(job_env, queues, tmp_path, **options).start()
        started.append(worker)
        return worker.wait_ready(client, lease_renew_s=float(TEST_LEASE_RENEW_S))

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_client(job_env: dict[str, str]) -> Iterator[Any]:
    """A JobClient of this process, on the test Redis."""
    from cli.jobs_client import JobClient
    from config.celery_app import create_app
    from config.settings import get_settings

    app = create_app(get_settings())
    yield JobClient(app)
    # Results unsubscribe when collected: let that happen while Redis is still up.
    gc.collect()
    _forget_subscriptions(app)
    app.close()


def _forget_subscriptions(app: Any) -> None:
    """Close the result subscriptions of jobs that never finished, while Redis is up.

    Celery keeps such results pending, and each one's __del__ unsubscribes over the
    network whenever the garbage collector gets to it, which may be long after this
    test's Redis is gone (then it fails noisily, and once, inside a compile() of
    pytest's assertion rewriter, it broke CPython 3.11's AST recursion counter). With
    nothing subscribed, __del__ has nothing to send.
    """
    consumer = getattr(app.backend, "result_consumer", None)
    if consumer is None or not hasattr(consumer, "subscribed_to"):
        return
    with contextlib.suppress(Exception):
        consumer.stop()
    consumer.subscribed_to.clear()
