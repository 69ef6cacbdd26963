"""Credentials out of URLs before they are printed, logged or stored (broker and
database URLs, marketplace, Core and TL URLs alike).

A URL may carry a secret in its user info (``user:password@``, or a lone token as the
user name) or in its query (``?token=...``, a signed URL's signature, or a bare token
``?abc123``). Every query value is masked, whatever its name: a name cannot tell a
token from a page number, and a URL shown without its query values loses little.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

MASK = "***"
URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")


def _masked_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return MASK
    # A parameter without a value may be the token itself: mask the whole of it.
    return "&".join(f"{key}={MASK}" if value else MASK for key, value in pairs)


def _bad_port(parts: SplitResult) -> bool:
    try:
        _ = parts.port  # raises on a port that is not a number
    except ValueError:
        return True
    return False


def redact_url(url: str) -> str:
    """The URL with its password (or lone user token) and every query value masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    bad_port = _bad_port(parts)
    if "@" not in netloc and not parts.query and not bad_port:
        return url  # nothing to hide: the URL as given (urlunsplit would reshape some)
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        # A user name alone is often the token itself (https://<token>@host/...).
        netloc = f"{user}:{MASK}@{host}" if user and ":" in userinfo else f"{MASK}@{host}"
    if bad_port:  # "http://user:password/" without a host: the "port" is a password
        netloc = f"{netloc.rpartition(':')[0]}:{MASK}"
    query = _masked_query(parts.query) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_urls(text: str) -> str:
    """``text`` with every URL in it redacted."""
    return URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
