"""Reading marketplace files and downloading archives: local paths and http(s) URLs.

Network failures (ERROR-NET-*) are retried with common.backoff.compute_backoff_s;
a download is streamed to disk with a size limit and hashed on the way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

from common.backoff import compute_backoff_s
from common.errors import ContractError
from domain.marketplace.errors import is_retryable, plugin_error
from domain.marketplace.redact import redact_url

if TYPE_CHECKING:  # urllib.request pulls in http.client and email: only loaded to fetch
    import urllib.request

logger = logging.getLogger("conveyor.plugins.fetch")

CHUNK = 64 * 1024
USER_AGENT = "conveyor-plugins/1"
# Statuses worth another try: the server is busy or briefly broken.
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class _WriteFailed(Exception):
    """Writing the local copy failed (a full disk, say): the plugin folder's problem, not
    the source's. Carried past the read-side handlers, which would call it an unreadable
    source or a network error (and retry it), then raised again as the OSError it is."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Download:
    size: int
    sha256: str


@dataclass(frozen=True, kw_only=True)
class NetPolicy:
    timeout_s: float
    retries: int
    backoff_base_s: float
    backoff_cap_s: float


def is_url(text: str) -> bool:
    return urlsplit(text).scheme in ("http", "https")


def _request(url: str) -> urllib.request.Request:
    """A request with any user:password of the URL moved into a Basic header."""
    import urllib.request

    parts = urlsplit(url)
    headers = {"User-Agent": USER_AGENT}
    if parts.username is not None:
        secret = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(secret.encode()).decode()
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return urllib.request.Request(url, headers=headers)


def _net_error(exc: BaseException, url: str) -> ContractError:
    import urllib.error

    shown = redact_url(url)
    if isinstance(exc, urllib.error.HTTPError):
        return plugin_error("ERROR-NET-002", f"{shown} answered HTTP {exc.code}",
                            {"url": shown, "status": exc.code,
                             "retryable": exc.code in RETRY_STATUSES})
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError
        return plugin_error("ERROR-NET-003", f"{shown} did not answer in time",
                            {"url": shown, "retryable": True})
    return plugin_error("ERROR-NET-001", f"cannot reach {shown}: {reason}",
                        {"url": shown, "retryable": True})


class Fetcher:
    """Gets bytes from URLs and local files, retrying network errors with backoff."""

    def __init__(self, policy: NetPolicy, *, sleep: Callable[[float], None] = time.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self._sleep = sleep
        self._rand = rand
        self.bytes_downloaded = 0

    def _with_retries(self, url: str, attempt_once: Callable[[], Download]) -> Download:
        import http.client

        attempt = 0
        while True:
            attempt += 1
            try:
                return attempt_once()
            except ContractError as exc:
                error = exc
            except (http.client.HTTPException, OSError) as exc:  # URLError is an OSError
                error = _net_error(exc, url)
            if not (is_retryable(error) and error.details.get("context", {}).get(
                    "retryable", True)) or attempt > self.policy.retries:
                error.details.setdefault("context", {})["attempts"] = attempt
                raise error
            delay = compute_backoff_s(attempt, base_s=self.policy.backoff_base_s,
                                      cap_s=self.policy.backoff_cap_s, jitter=0.1,
                                      rand=self._rand)
            logger.info("retrying %s in %.2fs after %s", redact_url(url), delay, error.code)
            self._sleep(delay)

    def download(self, url: str, dest: Path, *, max_bytes: int) -> Download:
        """Stream url to dest (replacing it), hashing it; ERROR-NET-* after the retries."""
        import urllib.request

        def once() -> Download:
            with urllib.request.urlopen(_request(url), timeout=self.policy.timeout_s) as resp:
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > max_bytes:
                    raise _too_big(redact_url(url), max_bytes)
                return _copy_limited(resp, dest, max_bytes, redact_url(url))

        try:
            result = self._with_retries(url, once)
        except _WriteFailed as exc:
            raise exc.error from None
        self.bytes_downloaded += result.size
        return result

    def read(self, location: str, *, max_bytes: int) -> bytes:
        """The whole content of a URL or a local file (marketplace.json)."""
        if not is_url(location):
            return _read_local(Path(location), max_bytes)
        import urllib.request

        chunks: list[bytes] = []

        def once() -> Download:
            chunks.clear()
            with urllib.request.urlopen(_request(location),
                                        timeout=self.policy.timeout_s) as resp:
                data = resp.read(max_bytes + 1)
            if len(data) > max_bytes:
                raise _too_big(redact_url(location), max_bytes)
            chunks.append(data)
            return Download(len(data), "")

        result = self._with_retries(location, once)
        self.bytes_downloaded += result.size
        return chunks[0]


def _too_big(shown: str, max_bytes: int) -> ContractError:
    return plugin_error("ERROR-INST-003", f"{shown} is larger than {max_bytes} bytes",
                        {"source": shown, "limitBytes": max_bytes})


def _copy_limited(stream: BinaryIO, dest: Path, max_bytes: int, shown: str) -> Download:
    digest = hashlib.sha256()
    size = 0
    with _local_disk():
        dest.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered: a full disk fails a write here, never later inside close().
        out = dest.open("wb", buffering=0)
    with out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise _too_big(shown, max_bytes)
            digest.update(chunk)
            view = memoryview(chunk)
            with _local_disk():
                while view:
                    view = view[out.write(view):]
    return Download(size, digest.hexdigest())


@contextmanager
def _local_disk() -> Iterator[None]:
    """Mark an OSError as the local copy's (see _WriteFailed)."""
    try:
        yield
    except OSError as exc:
        raise _WriteFailed(exc) from None


def copy_local(source: Path, dest: Path, *, max_bytes: int) -> Download:
    """Copy a local archive into the staging folder, hashing it (no network, no retry)."""
    try:
        with source.open("rb") as stream:
            return _copy_limited(stream, dest, max_bytes, str(source))
    except _WriteFailed as exc:
        raise exc.error from None
    except OSError as exc:
        raise plugin_error("ERROR-INST-001", f"cannot read {source}: {exc.strerror or exc}",
                           {"source": str(source)}) from None


def _read_local(path: Path, max_bytes: int) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise plugin_error("ERROR-DISC-002", f"cannot read {path}: {exc.strerror or exc}",
                           {"path": str(path)}) from None
    if len(data) > max_bytes:
        raise plugin_error("ERROR-DISC-002", f"{path} is larger than {max_bytes} bytes",
                           {"path": str(path)})
    return data
