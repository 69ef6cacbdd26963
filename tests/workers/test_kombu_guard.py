"""A released broker connection must not turn a channel close into a dead worker."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest
from kombu.transport import redis as kombu_redis

from workers.kombu_guard import guard_restore_on_lost_connection


def _qos(client: Any) -> Any:
    @contextmanager
    def conn_or_acquire(_: Any = None) -> Any:
        # What kombu does when it rebuilds its pool from a released connection.
        raise AttributeError("'NoneType' object has no attribute 'hostname'")
        yield  # pragma: no cover

    channel = SimpleNamespace(conn_or_acquire=conn_or_acquire,
                              connection=SimpleNamespace(client=client))
    return SimpleNamespace(channel=channel, _delivered={"tag-1": object()})


def test_a_released_connection_leaves_the_messages_to_the_visibility_timeout() -> None:
    guard_restore_on_lost_connection()
    guard_restore_on_lost_connection()  # idempotent
    qos = _qos(client=None)
    kombu_redis.QoS.restore_unacked(qos)  # no AttributeError: the worker lives on
    assert list(qos._delivered) == ["tag-1"]  # nothing dropped; Redis still holds them


def test_any_other_attribute_error_still_surfaces() -> None:
    guard_restore_on_lost_connection()
    with pytest.raises(AttributeError):
        kombu_redis.QoS.restore_unacked(_qos(client=object()))
