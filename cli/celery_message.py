"""A task message in Celery's protocol 2, as kombu's Redis transport stores it.

Written from the documented formats, not from Celery's code:
https://docs.celeryq.dev/en/stable/internals/protocol.html (version 2: headers, the
body [args, kwargs, embed] and the properties) and kombu's Redis transport, which
keeps each message as one JSON document in a list named after the queue, with the
body base64-encoded. tests/cli/test_celery_message.py checks every field against a
message that Celery itself publishes for the same task.

The result of the task: Celery's Redis result backend SETs the task's state as JSON
under ``celery-task-meta-<id>`` and PUBLISHes the same document on a channel of
that name (https://docs.celeryq.dev/en/stable/userguide/tasks.html#result-backends).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

RESULT_KEY_PREFIX = "celery-task-meta-"
# States after which a task's state no longer changes (celery.states.READY_STATES).
READY_STATES = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
# Celery shortens argsrepr/kwargsrepr (shown by Flower only) to about this many
# characters; its saferepr cuts inside the strings, this cuts the end.
REPR_MAX_CHARS = 1024

# Who published, as Celery's "origin" header says it: nodename of the process.
_ORIGIN = f"gen{os.getpid()}@{socket.gethostname()}"
# Where replies would go (the rpc:// result backend); one address per process.
_REPLY_TO = str(uuid.uuid4())


def result_key(task_id: str) -> str:
    return f"{RESULT_KEY_PREFIX}{task_id}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= REPR_MAX_CHARS else text[:REPR_MAX_CHARS - 3] + "..."


def task_message(task: str, *, task_id: str, kwargs: dict[str, Any], queue: str,
                 expires_s: float | None = None,
                 extra_headers: dict[str, Any] | None = None) -> bytes:
    """The JSON document to LPUSH onto the queue's list."""
    expires = None if expires_s is None else \
        (datetime.now(UTC) + timedelta(seconds=expires_s)).isoformat()
    headers: dict[str, Any] = {
        "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": None,
        "expires": expires, "group": None, "group_index": None, "retries": 0,
        "timelimit": [None, None], "root_id": task_id, "parent_id": None,
        "argsrepr": "()", "kwargsrepr": _short_repr(kwargs), "origin": _ORIGIN,
        "ignore_result": None, "replaced_task_nesting": 0, "stamped_headers": None,
        "stamps": {}, **(extra_headers or {}),
    }
    body = [[], kwargs, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    properties: dict[str, Any] = {
        "correlation_id": task_id, "reply_to": _REPLY_TO, "delivery_mode": 2,
        **({} if expires_s is None else {"expiration": str(int(expires_s * 1000))}),
        "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": 0, "body_encoding": "base64", "delivery_tag": str(uuid.uuid4()),
    }
    encoded_body = base64.b64encode(json.dumps(body).encode()).decode()
    return json.dumps({"body": encoded_body, "content-encoding": "utf-8",
                       "content-type": "application/json", "headers": headers,
                       "properties": properties}).encode()


def parse_result(payload: bytes) -> dict[str, Any] | None:
    """The task-state document of a result key or channel; None unless it is final."""
    try:
        meta = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(meta, dict) or meta.get("status") not in READY_STATES:
        return None
    return meta
