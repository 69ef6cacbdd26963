from __future__ import annotations

import pytest

from config.beat import beat_schedule
from config.celery_app import celery_config
from config.connection import Connection, Mode
from config.queues import QUEUES, queue_for
from config.settings import load_settings


@pytest.mark.parametrize(("task", "queue"), [
    ("tasks.environments.create_environment", "environments"),
    ("tasks.sweeps.prune_jobs", "sweeps"),
    ("tasks.pipelines.compute", "pipelines"),
    ("tasks.oord.seal_batch", "oord"),
    ("tasks.probe.probe", "default"),
    ("something.else", "default"),
])
def test_tasks_route_by_module(task: str, queue: str) -> None:
    assert queue_for(task) == queue


def test_the_five_queues() -> None:
    assert set(QUEUES) == {"environments", "sweeps", "pipelines", "oord", "default"}


def test_delivery_settings_for_redis() -> None:
    settings = load_settings()
    config = celery_config(settings, Connection(Mode.CONFIGURED, "redis://h/0", "redis://h/1"))
    assert config["task_acks_late"] is True
    assert config["task_reject_on_worker_lost"] is True
    assert config["worker_prefetch_multiplier"] == 1
    assert config["accept_content"] == ["json"]
    assert config["task_serializer"] == config["result_serializer"] == "json"
    options = config["broker_transport_options"]
    assert options["visibility_timeout"] <= 30  # redelivery within seconds, not an hour
    assert options["unacked_restore_interval"] <= 2
    assert options["unacked_restore_throttle"] == 1
    assert config["worker_send_task_events"] is True
    assert config["result_expires"] > 0


def test_embedded_polls_fast_and_sends_no_events() -> None:
    settings = load_settings()
    config = celery_config(settings, Connection(Mode.EMBEDDED, "memory://", "cache+memory://"))
    assert config["broker_transport_options"]["polling_interval"] <= 0.01
    assert config["worker_send_task_events"] is False


def test_beat_schedule_has_the_job_pruning_sweep() -> None:
    schedule = beat_schedule()
    assert schedule["prune-finished-jobs"]["task"] == "tasks.sweeps.prune_jobs"
    assert schedule["prune-finished-jobs"]["schedule"] == 3600.0
