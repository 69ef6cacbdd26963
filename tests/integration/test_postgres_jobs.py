"""Workers and publishers record jobs in PostgreSQL when it is configured."""

from __future__ import annotations

import pytest

from store import jobs

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def pg_job_env(postgres_url: str, job_env: dict[str, str],
               monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from config.settings import reset_settings
    from tests.conftest import _truncate_postgres

    _truncate_postgres(postgres_url)
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", postgres_url)
    reset_settings()
    job_env["CONVEYOR_DATABASE_URL"] = postgres_url
    return job_env


def test_a_retried_job_is_recorded_in_postgres(pg_job_env, start_worker,
                                               celery_client) -> None:
    start_worker(["default"])
    job = celery_client.submit("tests.support.tasks.flaky", {"fail_times": 1})
    assert celery_client.wait(job, timeout_s=30) == {"ok": True, "retries": 1}
    row = jobs.get_job(job.job_id, url=pg_job_env["CONVEYOR_DATABASE_URL"])
    assert row is not None
    assert (row["status"], row["attempts"], row["last_error"]) == (
        "succeeded", 2, "flaky failure 1 of 1")
