"""to_json: JSON text that UTF-8 can always encode."""

from __future__ import annotations

import json

from cli.output import printable, to_json


def test_non_ascii_stays_readable() -> None:
    assert to_json({"name": "é 😀"}) == '{"name":"é 😀"}'


def test_lone_surrogates_are_escaped_so_the_text_encodes() -> None:
    # An argument whose bytes were not UTF-8 arrives as "\udcff"; echoed as is, writing
    # the response to a UTF-8 stdout raised UnicodeEncodeError (an internal error).
    for pretty in (False, True):
        text = to_json({"id": "x\udcff", "name": "é"}, pretty=pretty)
        text.encode("utf-8")
        assert "\\udcff" in text and json.loads(text) == {"id": "x\udcff", "name": "é"}


def test_printable_keeps_a_value_on_one_line() -> None:
    # A bundle path, a package name or a message with a newline, an escape character or
    # a byte that was not UTF-8 broke text output into lines (or raised on a strict
    # UTF-8 stdout).
    assert printable("a\nb\x1b[31m\udcff é\u2028") == "a\\nb\\x1b[31m\\udcff é\\u2028"
    assert printable(42) == "42"
