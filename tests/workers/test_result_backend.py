"""workers/result_backend.py against a real Redis: a job's first outcome is stored in one
round trip, and every other result keeps Celery's read-before-write guard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import states
from celery.app.task import Context

from config.celery_app import create_app, result_backend_class
from config.settings import get_settings
from workers.base_task import FIRST_OUTCOME
from workers.result_backend import PersistedRedisBackend


def test_only_redis_urls_get_conveyors_backend() -> None:
    assert result_backend_class("redis://127.0.0.1:6379/1") == \
        "workers.result_backend:PersistedRedisBackend+redis://127.0.0.1:6379/1"
    assert result_backend_class("rediss://h:6380/0?ssl_cert_reqs=required") == \
        "workers.result_backend:PersistedRedisBackend+rediss://h:6380/0?ssl_cert_reqs=required"
    for other in ("cache+memory://", "rpc://", "db+postgresql://h/db", "redis+socket:///s"):
        assert result_backend_class(other) is None


@pytest.fixture
def backend(job_env: dict[str, str]) -> Iterator[Any]:
    app = create_app(get_settings())
    yield app.backend
    app.close()


def test_the_app_uses_it_and_keeps_the_plain_url(backend: Any, job_env: dict[str, str]) -> None:
    assert type(backend) is PersistedRedisBackend
    assert backend.app.conf.result_backend == job_env["CONVEYOR_RESULT_BACKEND"]
    assert backend.connparams["db"] == 1


def _gets(backend: Any) -> int:
    stats = backend.client.info("commandstats")
    return int(stats.get("cmdstat_get", {}).get("calls", 0))


def _request(first_outcome: bool) -> Context:
    request = Context(id="job-1", task="tests.support.tasks.stamped", args=[], kwargs={})
    if first_outcome:
        setattr(request, FIRST_OUTCOME, True)
    return request


def test_a_first_outcome_is_stored_without_reading_first(backend: Any) -> None:
    backend.client.config_resetstat()
    backend.store_result("job-1", {"n": 1}, states.SUCCESS, request=_request(True))
    assert _gets(backend) == 0
    meta = backend.get_task_meta("job-1")
    assert (meta["status"], meta["result"]) == (states.SUCCESS, {"n": 1})


def test_any_other_success_is_read_first_and_does_not_overwrite(backend: Any) -> None:
    backend.store_result("job-1", {"n": 1}, states.SUCCESS, request=_request(True))
    backend.client.config_resetstat()
    backend.store_result("job-1", {"n": 2}, states.SUCCESS, request=_request(False))
    assert _gets(backend) == 1
    backend._cache.clear()
    assert backend.get_task_meta("job-1")["result"] == {"n": 1}


def test_a_failure_takes_celerys_path_even_when_marked(backend: Any) -> None:
    backend.client.config_resetstat()
    backend.store_result("job-1", {"exc_type": "X", "exc_message": ["m"]}, states.FAILURE,
                         request=_request(True))
    assert _gets(backend) == 1
    assert backend.get_task_meta("job-1")["status"] == states.FAILURE
