"""The consumer registry, on fakeredis (a Redis-level helper, no worker involved)."""

from __future__ import annotations

import fakeredis

from workers.consumers import consumer_ttl_s, heartbeat, leave, live_consumers


def test_a_heartbeat_makes_a_worker_live_until_its_ttl() -> None:
    client = fakeredis.FakeRedis()
    pipe = client.pipeline()
    heartbeat(pipe, ["default", "oord"], "w1@h", lease_renew_s=1.0, now=1000.0)
    pipe.execute()
    assert live_consumers(client, "default", lease_renew_s=1.0, now=1001.0) == ["w1@h"]
    assert live_consumers(client, "oord", lease_renew_s=1.0, now=1001.0) == ["w1@h"]
    assert live_consumers(client, "pipelines", lease_renew_s=1.0, now=1001.0) == []
    late = 1000.0 + consumer_ttl_s(1.0) + 0.1
    assert live_consumers(client, "default", lease_renew_s=1.0, now=late) == []


def test_leaving_removes_the_worker_at_once() -> None:
    client = fakeredis.FakeRedis()
    pipe = client.pipeline()
    heartbeat(pipe, ["default"], "w1@h", lease_renew_s=1.0, now=1000.0)
    heartbeat(pipe, ["default"], "w2@h", lease_renew_s=1.0, now=1000.0)
    pipe.execute()
    leave(client, ["default"], "w1@h")
    assert live_consumers(client, "default", lease_renew_s=1.0, now=1000.5) == ["w2@h"]


def test_long_dead_entries_are_trimmed() -> None:
    client = fakeredis.FakeRedis()
    pipe = client.pipeline()
    heartbeat(pipe, ["default"], "old@h", lease_renew_s=1.0, now=0.0)
    heartbeat(pipe, ["default"], "new@h", lease_renew_s=1.0, now=10_000.0)
    pipe.execute()
    assert client.zcard("conveyor:consumers:default") == 1
