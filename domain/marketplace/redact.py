"""Secrets out of everything we print or record: URL credentials and tokens, home paths."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from config.redact import MASK, redact_url, redact_urls

__all__ = ["MASK", "Redactor", "redact_url"]


class Redactor:
    """Applies every rule to strings, recursively through lists and dicts."""

    def __init__(self, home: Path | None) -> None:
        text = str(home) if home is not None else ""
        # Masking "/" would mangle every path; a home that short is no secret anyway.
        self._home = text.rstrip("/") if len(text.rstrip("/")) > 1 else None

    def text(self, value: str) -> str:
        value = redact_urls(value)
        if self._home:
            value = re.sub(re.escape(self._home) + r"(?=/|$|[\s\"'])", "~", value)
        return value

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value
