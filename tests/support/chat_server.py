"""A local HTTP server speaking the OpenAI chat completions API, scripted by a test.

Real sockets and real HTTP (the `openai` client cannot tell it from a provider): it
answers POST .../chat/completions, after ``latency_s``, with the next status of
``script`` (then ``then_status``: 200 answers, anything else an API error body), or
with a ``raw`` answer of the test's making (a body that is no JSON, a wrong shape, ...).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class RawAnswer:
    """An answer sent byte for byte, whatever the request: what a broken or hostile
    endpoint (a proxy's HTML page, another API, a refusal) sends back."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"

    @classmethod
    def of_json(cls, payload: Any, status: int = 200) -> RawAnswer:
        return cls(json.dumps(payload).encode(), status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of concurrent clients must not hit the backlog
    chat: ChatServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client expects
    # Headers and body are separate writes: with Nagle on, every answer would wait for
    # the client's delayed ACK (40 ms on Linux) and the latency would not be ours to set.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no access log
        return None

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        status, number = self.server.chat.take(body, self.headers.get("Authorization"))
        if self.server.chat.wait_latency():
            return  # stopping
        raw = self.server.chat.raw
        if raw is not None:
            self._send_bytes(raw.status, raw.body, raw.content_type)
        elif status == 200:
            self._send(200, _completion(body, number, self.server.chat.content))
        else:
            message = f"scripted failure {status}"
            if self.server.chat.quote_key_in_errors:  # as a provider rejecting a key does
                message = f"Incorrect API key provided: {self.headers.get('Authorization')}"
            self._send(status, {"error": {"message": message,
                                          "type": "server_error", "code": None}},
                       {"Retry-After": "0"} if status == 429 else {})

    def _send(self, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json", headers)

    def _send_bytes(self, status: int, data: bytes, content_type: str,
                    headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (cancelled): nothing to answer


def _completion(body: dict[str, Any], number: int, content: str | None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{number}", "object": "chat.completion", "created": int(time.time()),
        "model": body.get("model", "test-model"),
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant",
                                 "content": f"concept {number}" if content is None
                                 else content}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    }


class ChatServer:
    def __init__(self, *, latency_s: float = 0.0, script: Iterable[int] = (),
                 then_status: int = 200) -> None:
        self.latency_s = latency_s
        self.then_status = then_status
        self.content: str | None = None
        """The answer's text; None: "concept <request number>"."""
        self.quote_key_in_errors = False
        """Error answers quote the request's Authorization header back (a hostile or
        careless endpoint: the key must not travel on into logs and job rows)."""
        self.raw: RawAnswer | None = None
        """Sent as it is for every request instead of the scripted answer."""
        self.last_body: dict[str, Any] = {}
        self._script: deque[int] = deque(script)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests = 0
        self.statuses: list[int] = []
        self.models: set[str] = set()
        self.authorizations: set[str | None] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.chat = self
        # A short poll interval: stop() waits for one (the default is half a second).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,),
                                        daemon=True, name="chat-server")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def script(self, statuses: Iterable[int], then_status: int = 200) -> None:
        """The next requests' statuses, then ``then_status`` for every later one."""
        with self._lock:
            self._script = deque(statuses)
            self.then_status = then_status

    def take(self, body: dict[str, Any], authorization: str | None) -> tuple[int, int]:
        """The status for the next request, and its number (1, 2, ...)."""
        with self._lock:
            self.requests += 1
            status = self._script.popleft() if self._script else self.then_status
            self.statuses.append(status)
            self.last_body = body
            self.models.add(str(body.get("model")))
            self.authorizations.add(authorization)
            return status, self.requests

    def wait_latency(self) -> bool:
        """Sleep the latency; True if the server is stopping meanwhile."""
        if self.latency_s <= 0:
            return self._stopping.is_set()
        return self._stopping.wait(self.latency_s)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m tests.support.chat_server --latency-ms 50`: serve until SIGTERM/SIGINT;
    the first stdout line is the base URL (benchmarks run it in a process of its own)."""
    import argparse
    import signal

    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    server = ChatServer(latency_s=args.latency_ms / 1000).start()
    print(server.base_url, flush=True)
    while not stop.wait(1.0):
        pass
    server.stop()


if __name__ == "__main__":
    main()
