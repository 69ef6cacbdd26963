"""The online TL check: ask a log for the entry a proof names (GET /v1/tl/entries/{seq})."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from config.redact import redact_url, redact_urls

MAX_RESPONSE_BYTES = 1 << 20


class TlOutage(Exception):
    """The log could not be asked (unreachable, timed out, answered with an error)."""


def fetch_entry(tl_url: str, seq: int, *, timeout_s: float = 5.0) -> dict[str, Any] | None:
    """The log's entry ``seq``, None if the log says it has none (404); TlOutage otherwise."""
    if not tl_url.startswith(("http://", "https://")):
        raise TlOutage(f"the TL URL must be http(s), got {redact_url(tl_url)!r}")
    url = f"{tl_url.rstrip('/')}/v1/tl/entries/{seq}"
    try:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            raw = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise TlOutage(f"the log answered {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise TlOutage(f"cannot reach the log at {redact_url(tl_url)}: "
                       f"{redact_urls(str(getattr(exc, 'reason', exc)))}") from None
    except (ValueError, http.client.HTTPException) as exc:  # InvalidURL's text quotes the URL
        raise TlOutage(f"cannot reach the log at {redact_url(tl_url)}: "
                       f"{type(exc).__name__}") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise TlOutage("the log's answer is not JSON") from None
    if not isinstance(data, dict):
        raise TlOutage("the log's answer is not a JSON object")
    return data
