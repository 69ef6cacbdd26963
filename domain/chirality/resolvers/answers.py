"""Reading what a chat completions endpoint answered: the text, or why there is none.

Nothing here trusts the endpoint: any body (not JSON, another API's JSON, no choices, a
refusal) gives either the answer's text or a BadAnswer saying what was wrong, never an
exception of another kind. The fields read are those of the OpenAI chat completion
object: choices[0].message.content, choices[0].message.refusal, choices[0].finish_reason,
and, in an error answer, error.message.
"""

from __future__ import annotations

import json
from typing import Any

_EXCERPT_CHARS = 120
_NOT_JSON: Any = object()


class BadAnswer(Exception):
    """An answer the resolver cannot use; ``retry``: whether asking again may help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason, retry)
        self.reason = reason
        self.retry = retry


def completion_text(body: bytes, content_type: str) -> str:
    """The text of a chat completion answered with HTTP 2xx; BadAnswer otherwise.

    A body that is no chat completion (a proxy's HTML page, a truncated or foreign JSON)
    may be a passing fault of something between us and the model: retried. A refusal or
    a content filter is the model's answer to this prompt: asking again costs without
    helping, so it is not retried.
    """
    data = _json(body)
    if data is _NOT_JSON:
        raise BadAnswer(f"the answer was not JSON (Content-Type: {content_type or 'none'}, "
                        f"{len(body)} bytes: {excerpt(body)!r})", retry=True)
    first, message = _first_choice(data)
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal.strip():
        raise BadAnswer(f"the model refused: {refusal.strip()}", retry=False)
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise BadAnswer(f"the answer was not a chat completion: choices[0].message.content "
                        f"is {_kind(content)}, not a string", retry=True)
    if content is None or not content.strip():
        if first.get("finish_reason") == "content_filter":
            raise BadAnswer("the endpoint's content filter withheld the answer "
                            "(finish_reason content_filter)", retry=False)
        raise BadAnswer("the answer had no text", retry=True)
    return content.strip()


def _first_choice(data: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """choices[0] and its message, from a JSON body that should be a chat completion."""
    if not isinstance(data, dict):
        raise BadAnswer(f"the answer was not a chat completion but JSON {_kind(data)}",
                        retry=True)
    choices = data.get("choices")
    if choices is None and "error" in data:
        raise BadAnswer(f"the endpoint answered with an error: {error_message(data)}",
                        retry=True)
    if not isinstance(choices, list):
        raise BadAnswer(f"the answer was not a chat completion: \"choices\" is "
                        f"{_kind(choices)}, not a list", retry=True)
    if not choices:
        raise BadAnswer("the answer had no choices", retry=True)
    first = choices[0]
    message = first.get("message") if isinstance(first, dict) else None
    if not isinstance(message, dict):
        raise BadAnswer("the answer was not a chat completion: choices[0] has no "
                        "\"message\" object", retry=True)
    return first, message


def error_message(data: Any) -> str:
    """What an error body says: error.message (OpenAI's shape), else the body itself."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return str(data["message"])
    return json.dumps(data, ensure_ascii=False)[:_EXCERPT_CHARS]


def http_error_reason(status: int, body: bytes) -> str:
    data = _json(body)
    said = excerpt(body) if data is _NOT_JSON else error_message(data)
    return f"HTTP {status}: {said}" if said else f"HTTP {status}"


def excerpt(body: bytes) -> str:
    """The start of a body, as text on one line."""
    text = body[:_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return " ".join(text.split())[:_EXCERPT_CHARS]


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:  # not JSON, or not UTF-8 (UnicodeDecodeError is a ValueError)
        return _NOT_JSON


def _kind(value: Any) -> str:
    if value is None:
        return "null or missing"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)
