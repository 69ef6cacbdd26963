"""`oord tl serve`: the built-in log over HTTP, for verify's online check.

GET /v1/tl/entries/{seq} -> 200 the entry (the fields of tl_proof.json plus seq), or 404
GET /v1/tl/head          -> 200 the latest signed tree head, or 404 for an empty log
"""

from __future__ import annotations

import json
import logging
import re
import signal
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from config.logs import log_event
from domain.oord.tl_local import public_entry

logger = logging.getLogger("conveyor.oord.tl")

_ENTRY = re.compile(r"/v1/tl/entries/(\d{1,18})")


def latest_head() -> dict[str, Any]:
    from store.oord_tl import latest_entry

    entry = latest_entry()
    if entry is None:
        return {"tree_size": 0, "tree_root": None, "tree_head_sig": None, "signer_key_id": None}
    return {"tree_size": int(entry["tree_size"]), "tree_root": entry["tree_root"],
            "tree_head_sig": entry["tree_head_sig"], "signer_key_id": entry["signer_key_id"],
            "t_log_ms": int(entry["t_log_ms"])}


class _Handler(BaseHTTPRequestHandler):
    server_version = "oord-tl/1"

    def do_GET(self) -> None:
        from store.oord_tl import get_entry

        path = self.path.split("?", 1)[0]
        match = _ENTRY.fullmatch(path)
        try:
            if match:
                entry = get_entry(int(match.group(1)))
                self._answer(*((200, public_entry(entry)) if entry else
                               (404, {"error": "not_found", "seq": int(match.group(1))})))
            elif path == "/v1/tl/head":
                self._answer(200, latest_head())
            else:
                self._answer(404, {"error": "not_found"})
        except Exception as exc:  # the database is down: say so, keep serving
            logger.error("tl request failed", exc_info=exc, extra={"event": "tl_error"})
            self._answer(503, {"error": "unavailable"})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log_event(logger, "tl_request", level=logging.DEBUG, line=format % args)


def make_server(host: str, port: int) -> ThreadingHTTPServer:
    """The log's HTTP server, bound (port 0 picks a free one), not yet serving."""
    server = ThreadingHTTPServer((host, port), _Handler)
    server.daemon_threads = True
    return server


def serve(host: str, port: int, *, ready: Callable[[str], None]) -> None:
    """Serve until SIGTERM or Ctrl-C; ``ready`` gets the URL once listening."""
    server = make_server(host, port)

    def stop(_signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    url = f"http://{host}:{server.server_address[1]}"
    log_event(logger, "tl_serving", url=url)
    ready(url)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
