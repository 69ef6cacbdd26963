"""Our task message against the one Celery itself publishes for the same task.

The CLI publishes without Celery (cli/celery_message.py); a worker must not be able to
tell the difference. Celery's app publishes into a Redis list nobody consumes, and the
two JSON documents are compared field by field, every level.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import pytest

from cli.celery_message import parse_result, result_key, task_message
from tests.support.redis import RedisServer

TASK = "tasks.probe.probe"
KWARGS = {"sent_at": 1.5, "marker": "ab", "text": "ünïcode"}
HEADERS = {"conveyor_correlation_id": "corr-1"}
# Fields that differ between any two publishes: who published, the delivery tag, the
# reply address, and the expiry moment (compared apart, to the second).
VOLATILE_HEADERS = {"origin", "expires"}
VOLATILE_PROPERTIES = {"reply_to", "delivery_tag"}


def _celery_message(redis_db: RedisServer, task_id: str, expires_s: float | None) -> Any:
    from celery import Celery

    app = Celery("reference", broker=redis_db.db_url(0), set_as_current=False)
    app.conf.update(task_serializer="json", accept_content=["json"], task_default_queue="default")
    try:
        app.send_task(TASK, kwargs=KWARGS, queue="default", task_id=task_id, expires=expires_s,
                      headers=HEADERS)
    finally:
        app.close()
    (raw,) = redis_db.client(0).lrange("default", 0, -1)
    redis_db.client(0).delete("default")
    return json.loads(raw)


def _decoded(message: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    envelope = dict(message)
    body = json.loads(base64.b64decode(envelope.pop("body")))
    return envelope, body


@pytest.mark.parametrize("expires_s", [None, 30.0])
def test_every_field_is_the_one_celery_writes(redis_db: RedisServer,
                                              expires_s: float | None) -> None:
    task_id = "11111111-2222-3333-4444-555555555555"
    theirs, their_body = _decoded(_celery_message(redis_db, task_id, expires_s))
    ours, our_body = _decoded(json.loads(task_message(
        TASK, task_id=task_id, kwargs=KWARGS, queue="default", expires_s=expires_s,
        extra_headers=HEADERS)))

    assert our_body == their_body
    assert set(ours) == set(theirs)
    assert set(ours["headers"]) == set(theirs["headers"])
    assert set(ours["properties"]) == set(theirs["properties"])
    for name in set(theirs) - {"headers", "properties"}:
        assert ours[name] == theirs[name], name
    for name in set(theirs["headers"]) - VOLATILE_HEADERS:
        assert ours["headers"][name] == theirs["headers"][name], name
    for name in set(theirs["properties"]) - VOLATILE_PROPERTIES:
        assert ours["properties"][name] == theirs["properties"][name], name
    if expires_s is None:
        assert ours["headers"]["expires"] is None and theirs["headers"]["expires"] is None
    else:
        gap = datetime.fromisoformat(ours["headers"]["expires"]) \
            - datetime.fromisoformat(theirs["headers"]["expires"])
        assert abs(gap.total_seconds()) < 5
    assert ours["headers"]["origin"].startswith("gen")
    assert ours["properties"]["delivery_tag"] != theirs["properties"]["delivery_tag"]


def test_each_message_has_its_own_delivery_tag() -> None:
    tags = {json.loads(task_message(TASK, task_id="a", kwargs={}, queue="default"))
            ["properties"]["delivery_tag"] for _ in range(50)}
    assert len(tags) == 50


def test_a_long_kwargs_repr_is_cut_to_celerys_limit() -> None:
    """kwargsrepr is for display (Flower) only. Celery's saferepr shortens inside the
    strings and ours cuts the end, so long ones differ in form, not in size."""
    message = json.loads(task_message(TASK, task_id="a", kwargs={"x": "y" * 5000},
                                      queue="default"))
    kwargsrepr = message["headers"]["kwargsrepr"]
    assert len(kwargsrepr) == 1024 and kwargsrepr.startswith("{'x': 'yyy")
    body = json.loads(base64.b64decode(message["body"]))
    assert body[1] == {"x": "y" * 5000}  # the arguments themselves are whole


def test_only_final_states_are_results() -> None:
    assert result_key("abc") == "celery-task-meta-abc"
    assert parse_result(b'{"status": "SUCCESS", "result": 3}') == {"status": "SUCCESS",
                                                                   "result": 3}
    assert parse_result(b'{"status": "FAILURE", "result": {}}') is not None
    assert parse_result(b'{"status": "REVOKED"}') is not None
    assert parse_result(b'{"status": "RETRY", "result": {}}') is None
    assert parse_result(b'{"status": "STARTED"}') is None
    assert parse_result(b"not json") is None
    assert parse_result(b"[1, 2]") is None
