"""Redaction of URLs, tokens and home paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.marketplace.redact import Redactor, redact_url


@pytest.mark.parametrize(("url", "expected"), [
    ("https://user:pass@host/x", "https://user:***@host/x"),
    ("https://ghp_abc123@github.com/o/r.git", "https://***@github.com/o/r.git"),
    # Every query value: a name cannot tell a token from a page number.
    ("https://h/m.json?token=abc&page=2", "https://h/m.json?token=***&page=***"),
    ("https://h/a.tgz?X-Amz-Signature=s&X-Amz-Credential=c&v=1",
     "https://h/a.tgz?X-Amz-Signature=***&X-Amz-Credential=***&v=***"),
    ("https://h/m.json?t=abc", "https://h/m.json?t=***"),
    ("https://h/m.json?bare-token-abc", "https://h/m.json?***"),
    ("https://h/plain", "https://h/plain"),
])
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redactor_walks_structures_and_masks_home() -> None:
    redact = Redactor(Path("/home/ada"))
    value = {"a": ["see https://x:y@h/p?api_key=k", "/home/ada/project/x", "/home/adam/x"],
             "n": 3}
    assert redact(value) == {"a": ["see https://x:***@h/p?api_key=***", "~/project/x",
                                   "/home/adam/x"], "n": 3}


def test_root_home_is_not_masked() -> None:
    assert Redactor(Path("/"))("/etc/x") == "/etc/x"
