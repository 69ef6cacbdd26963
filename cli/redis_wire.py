"""A small Redis client speaking RESP3 over one socket: what a publishing CLI needs.

redis-py 8 costs a CLI about 85 ms of import (its asyncio client comes with it) for
the three or four commands a submit-and-wait sends. This client speaks the protocol
as https://redis.io/docs/latest/develop/reference/protocol-spec/ gives it, and only
RESP3 (HELLO 3, Redis 6 and newer): with RESP3 a subscribed connection may still send
any command, so one connection subscribes to a job's result channel and publishes
the job, in that order, in one write; no result can be published before the
subscription is in place. Push messages (pub/sub) arrive beside command replies and
are kept apart from them.

Errors: OSError (refused, reset, timed out) when the server cannot be talked to,
RedisReplyError when it answers with an error.
"""

from __future__ import annotations

import contextlib
import functools
import select
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

CRLF = b"\r\n"
# How often a thread waiting for push messages looks whether another thread read one.
PUSH_POLL_S = 0.05


class RedisReplyError(Exception):
    """The server answered a command with an error (-ERR ..., !<len> ...)."""


@dataclass(frozen=True)
class RedisAddress:
    host: str
    port: int
    db: int
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> RedisAddress | None:
        """A plain redis://[user:password@]host[:port][/db] URL; None for any other form
        (TLS, unix sockets, query options): those stay with redis-py."""
        parts = urlsplit(url)
        if parts.scheme != "redis" or parts.query or not parts.hostname:
            return None
        path = parts.path.strip("/")
        try:
            db = int(path) if path else 0
            port = parts.port or 6379
        except ValueError:
            return None
        return cls(parts.hostname, port, db,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else None)

    def same_server(self, other: RedisAddress) -> bool:
        return (self.host, self.port, self.username, self.password) == \
            (other.host, other.port, other.username, other.password)


def encode_command(*args: Any) -> bytes:
    """One command as a RESP array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


_Method = TypeVar("_Method", bound=Callable[..., Any])


def _locked(method: _Method) -> _Method:
    """The method holds the connection's lock: one thread's reply is not another's."""
    @functools.wraps(method)
    def holding_lock(self: RedisWire, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return method(self, *args, **kwargs)
    return cast(_Method, holding_lock)


class Push(list[Any]):
    """An out-of-band push message (RESP3 '>'), e.g. [b"message", channel, payload]."""


class RedisWire:
    """One connection: commands with their replies in order, push messages aside.

    Safe to share between threads: each call has the connection to itself (a JobClient
    may submit from one thread while another waits).
    """

    def __init__(self, address: RedisAddress, *, timeout_s: float = 3.0) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self._pushes: deque[Push] = deque()
        #: Counts connections made: subscriptions belong to the connection that made them.
        self.connection_number = 0
        self.lock = threading.RLock()

    # ---- connection ----------------------------------------------------------------

    def _connect(self) -> socket.socket:
        if self._sock is not None:
            return self._sock
        sock = socket.create_connection((self.address.host, self.address.port),
                                        timeout=self.timeout_s)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._buffer = sock, bytearray()
        self.connection_number += 1
        hello: list[Any] = ["HELLO", 3]
        if self.address.password is not None:
            hello += ["AUTH", self.address.username or "default", self.address.password]
        commands = [hello] + ([["SELECT", self.address.db]] if self.address.db else [])
        try:
            self._round_trip(commands, replies=len(commands))
        except RedisReplyError as refused:
            self.close()  # not authenticated, or not this database: no half-made connection
            if "unknown command" in str(refused).lower():
                raise RedisReplyError(f"this Redis does not speak RESP3 (HELLO 3): "
                                      f"Redis 6 or newer is needed ({refused})") from None
            raise
        return sock

    @_locked
    def close(self) -> None:
        sock, self._sock = self._sock, None
        self._pushes.clear()
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.close()

    @property
    def connected(self) -> bool:
        return self._sock is not None

    # ---- commands ------------------------------------------------------------------

    def execute(self, *args: Any) -> Any:
        """One command's reply (RedisReplyError if the server refused it)."""
        return self.pipeline([list(args)])[0]

    @_locked
    def pipeline(self, commands: list[list[Any]]) -> list[Any]:
        """Send every command in one write, then read their replies in order."""
        self._connect()
        return self._round_trip(commands, replies=len(commands))

    @_locked
    def subscribe_then(self, channel: str, command: list[Any]) -> Any:
        """SUBSCRIBE to ``channel`` and run ``command``, in one write; the command's reply.

        Redis takes them in order, so the subscription is in place before the command
        runs. The subscription's confirmation is a push message, kept with the others."""
        self._connect()
        return self._round_trip([["SUBSCRIBE", channel], command], replies=1)[0]

    @_locked
    def send_only(self, command: list[Any]) -> None:
        """A command whose answer is a push message (UNSUBSCRIBE): sent, not awaited."""
        self._connect()
        self._round_trip([command], replies=0)

    def zrangebyscore(self, key: str, low: float | str, high: float | str) -> list[bytes]:
        """ZRANGEBYSCORE, as redis-py names it (workers/consumers.py asks through it)."""
        return list(self.execute("ZRANGEBYSCORE", key, low, high))

    def next_push(self, timeout_s: float) -> Push | None:
        """The next push message, waiting up to timeout_s for one; None if none came.

        The wait itself does not hold the lock (another thread may send a command
        meanwhile); reading does. Whichever thread reads a push message keeps it for
        every thread: a waiter looks again at least every PUSH_POLL_S."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.lock:
                sock = self._connect()
                push = self._take_push()
                if push is not None:
                    return push
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                select.select([sock], [], [], min(remaining, PUSH_POLL_S))
            except (ValueError, OSError) as exc:  # closed by another thread meanwhile
                raise ConnectionResetError("the connection to Redis was closed") from exc

    def _take_push(self) -> Push | None:
        """A push message already here (kept, buffered or readable now), if any."""
        if self._pushes:
            return self._pushes.popleft()
        try:
            while self._buffer or self._readable(0):
                reply = self._parse()
                if isinstance(reply, Push):
                    return reply
                # A reply with no command waiting for it: the stream is out of step.
                raise OSError(f"unexpected reply from Redis: {reply!r}")
        except BaseException:
            self.close()
            raise
        return None

    # ---- the wire --------------------------------------------------------------------

    def _send(self, commands: list[list[Any]]) -> None:
        assert self._sock is not None
        self._sock.sendall(b"".join(encode_command(*command) for command in commands))

    def _readable(self, timeout_s: float) -> bool:
        assert self._sock is not None
        ready, _, _ = select.select([self._sock], [], [], max(0.0, timeout_s))
        return bool(ready)

    def _round_trip(self, commands: list[list[Any]], *, replies: int) -> list[Any]:
        """Send ``commands`` in one write and read ``replies`` replies (push messages
        read on the way are kept). An error reply is raised once every reply is read,
        so the stream stays in step; a broken exchange closes the connection."""
        try:
            self._send(commands)
            answers = [self._reply() for _ in range(replies)]
        except BaseException:
            self.close()  # half a reply read: the stream is out of step
            raise
        for answer in answers:
            if isinstance(answer, RedisReplyError):
                raise answer
        return answers

    def _reply(self) -> Any:
        """The next reply to a command (an error reply as its RedisReplyError, not raised);
        push messages read on the way are kept."""
        while True:
            reply = self._parse()
            if not isinstance(reply, Push):
                return reply
            self._pushes.append(reply)

    def _fill(self) -> None:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("Redis closed the connection")
        self._buffer += chunk

    def _line(self) -> bytes:
        while True:
            end = self._buffer.find(CRLF)
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[:end + 2]
                return line
            self._fill()

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size + 2:
            self._fill()
        data = bytes(self._buffer[:size])
        del self._buffer[:size + 2]
        return data

    def _parse(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        simple = _SIMPLE_TYPES.get(kind)
        if simple is not None:
            return simple(rest)
        size = int(rest) if kind in _SIZED_TYPES else None
        if size is None:
            raise OSError(f"not a RESP3 reply from Redis: {line[:40]!r}")
        if kind == b"$":
            return None if size < 0 else self._exactly(size)
        if kind == b"!":
            return RedisReplyError(self._exactly(size).decode(errors="replace"))
        if kind == b"=":
            return self._exactly(size)[4:]  # "txt:" or "mkd:" ahead of the text
        if kind == b"%":
            return {self._parse(): self._parse() for _ in range(size)}
        if kind == b"|":  # attributes: metadata ahead of the reply they describe
            for _ in range(2 * size):
                self._parse()
            return self._parse()
        if size < 0:
            return None
        items = [self._parse() for _ in range(size)]
        return Push(items) if kind == b">" else items


# Replies whose value is all on their first line, and how to read it.
_SIMPLE_TYPES: dict[bytes, Callable[[bytes], Any]] = {
    b"+": lambda rest: rest.decode(),
    b"-": lambda rest: RedisReplyError(rest.decode(errors="replace")),
    b":": int,
    b"(": int,
    b",": float,
    b"#": lambda rest: rest == b"t",
    b"_": lambda rest: None,
}
# Replies whose first line gives a length (bytes) or a count (elements, pairs).
_SIZED_TYPES = frozenset({b"$", b"!", b"=", b"*", b"~", b">", b"%", b"|"})
