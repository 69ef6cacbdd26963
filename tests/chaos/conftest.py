"""Fault drills use a Redis of their own that can be restarted with its data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis import RedisServer, start_redis


@pytest.fixture
def redis_db(tmp_path: Path) -> Iterator[RedisServer]:
    """Overrides the shared Redis: persistent (append-only), private to one test."""
    server = start_redis(tmp_path / "redis", persistent=True)
    yield server
    server.stop()
