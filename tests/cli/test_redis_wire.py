"""The CLI's own Redis client (cli/redis_wire.py), against a real redis-server."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.redis_wire import RedisAddress, RedisReplyError, RedisWire, encode_command
from tests.support.redis import RedisServer
from workers.ports import free_port
from workers.redis_server import RedisOptions, start_redis


def _wire(redis_db: RedisServer, db: int = 0) -> RedisWire:
    address = RedisAddress.from_url(redis_db.db_url(db))
    assert address is not None
    return RedisWire(address, timeout_s=3)


def test_commands_and_their_reply_types(redis_db: RedisServer) -> None:
    wire = _wire(redis_db)
    assert wire.execute("SET", "k", "v") == "OK"
    assert wire.execute("GET", "k") == b"v"
    assert wire.execute("GET", "missing") is None
    assert wire.execute("INCR", "n") == 1
    assert wire.execute("RPUSH", "list", "a", "b") == 2
    assert wire.execute("LRANGE", "list", 0, -1) == [b"a", b"b"]
    assert wire.execute("HSET", "h", "f", "1") == 1
    assert wire.execute("HGETALL", "h") == {b"f": b"1"}  # RESP3: a map
    assert wire.execute("SADD", "s", "x") == 1
    assert wire.execute("SMEMBERS", "s") == [b"x"]  # RESP3: a set
    assert wire.execute("ZADD", "z", 1.5, "m") == 1
    assert wire.execute("ZSCORE", "z", "m") == 1.5  # RESP3: a double
    assert wire.zrangebyscore("z", 1, "+inf") == [b"m"]
    assert wire.zrangebyscore("z", 2, "+inf") == []
    wire.close()


def test_an_error_reply_is_raised_and_the_stream_stays_in_step(redis_db: RedisServer) -> None:
    wire = _wire(redis_db)
    wire.execute("SET", "k", "v")
    with pytest.raises(RedisReplyError, match="WRONGTYPE"):
        wire.pipeline([["SET", "a", "1"], ["LPUSH", "k", "x"], ["SET", "b", "2"]])
    # Every reply of that pipeline was read: the next command gets its own reply.
    assert wire.execute("MGET", "a", "b") == [b"1", b"2"]
    with pytest.raises(RedisReplyError, match="unknown command"):
        wire.execute("NOSUCHCOMMAND")
    assert wire.execute("PING") == "PONG"


def test_binary_values_and_large_replies_arrive_whole(redis_db: RedisServer) -> None:
    wire = _wire(redis_db)
    blob = bytes(range(256)) * 4096 + b"\r\n$-1\r\n"  # 1 MiB and some protocol look-alikes
    wire.execute("SET", "blob", blob)
    assert wire.execute("GET", "blob") == blob


def test_the_db_of_the_url_is_selected(redis_db: RedisServer) -> None:
    wire = _wire(redis_db, db=3)
    wire.execute("SET", "where", "three")
    assert redis_db.client(3).get("where") == b"three"
    assert redis_db.client(0).get("where") is None


def test_a_subscribed_connection_still_runs_commands(redis_db: RedisServer) -> None:
    """RESP3: the subscription and the LPUSH go out in one write, in that order."""
    wire = _wire(redis_db)
    assert wire.subscribe_then("results", ["LPUSH", "queue", "job"]) == 1
    assert redis_db.client(0).publish("results", b"done") == 1
    assert wire.execute("LLEN", "queue") == 1  # a command while subscribed
    seen = [wire.next_push(2), wire.next_push(2)]
    assert seen[0] is not None and seen[0][0] == b"subscribe"
    assert seen[1] == [b"message", b"results", b"done"]
    assert wire.next_push(0.05) is None
    wire.send_only(["UNSUBSCRIBE", "results"])
    unsubscribed = wire.next_push(2)
    assert unsubscribed is not None and unsubscribed[0] == b"unsubscribe"
    assert redis_db.client(0).publish("results", b"late") == 0


def test_a_password_is_sent_and_a_wrong_one_refused(tmp_path: Path) -> None:
    port = free_port()
    server = start_redis(RedisOptions(port=port, data_dir=tmp_path, persistent=False,
                                      password="s3cr:et/"))
    try:
        good = RedisAddress.from_url(f"redis://:s3cr%3Aet%2F@127.0.0.1:{port}/0")
        bad = RedisAddress.from_url(f"redis://:wrong@127.0.0.1:{port}/0")
        assert good is not None and bad is not None
        assert RedisWire(good).execute("PING") == "PONG"
        with pytest.raises(RedisReplyError, match=r"WRONGPASS|invalid"):
            RedisWire(bad).execute("PING")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_a_server_that_is_not_there_is_an_oserror() -> None:
    wire = RedisWire(RedisAddress("127.0.0.1", free_port(), 0, None, None), timeout_s=1)
    with pytest.raises(OSError):
        wire.execute("PING")
    assert not wire.connected


def test_a_connection_the_server_closes_is_an_oserror_then_reconnects(
        redis_db: RedisServer) -> None:
    wire = _wire(redis_db)
    wire.execute("CLIENT", "SETNAME", "doomed")
    redis_db.client(0).client_kill_filter(_type=None, skipme=True)  # every other client
    with pytest.raises(OSError):
        wire.execute("PING")
    assert wire.execute("PING") == "PONG"  # a fresh connection


@pytest.mark.parametrize(("url", "expected"), [
    ("redis://127.0.0.1:6380/2", RedisAddress("127.0.0.1", 6380, 2, None, None)),
    ("redis://localhost", RedisAddress("localhost", 6379, 0, None, None)),
    ("redis://:pw@host:1/0", RedisAddress("host", 1, 0, None, "pw")),
    ("redis://user:p%40ss@host/0", RedisAddress("host", 6379, 0, "user", "p@ss")),
    ("rediss://host/0", None),  # TLS: left to redis-py
    ("unix:///tmp/redis.sock", None),
    ("redis://host/0?socket_timeout=5", None),
    ("redis://host/notadb", None),
    ("redis://host:notaport/0", None),
    ("amqp://guest@localhost//", None),
])
def test_which_urls_the_wire_takes(url: str, expected: RedisAddress | None) -> None:
    assert RedisAddress.from_url(url) == expected


def test_commands_are_encoded_as_bulk_strings() -> None:
    assert encode_command("SET", "k", 1, b"\x00") == \
        b"*4\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n1\r\n$1\r\n\x00\r\n"
