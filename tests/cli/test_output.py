"""to_json: JSON text that UTF-8 can always encode."""

from __future__ import annotations

import json

from cli.output import to_json


def test_non_ascii_stays_readable() -> None:
    assert to_json({"name": "é 😀"}) == '{"name":"é 😀"}'


def test_lone_surrogates_are_escaped_so_the_text_encodes() -> None:
    # An argument whose bytes were not UTF-8 arrives as "\udcff"; echoed as is, writing
    # the response to a UTF-8 stdout raised UnicodeEncodeError (an internal error).
    for pretty in (False, True):
        text = to_json({"id": "x\udcff", "name": "é"}, pretty=pretty)
        text.encode("utf-8")
        assert "\\udcff" in text and json.loads(text) == {"id": "x\udcff", "name": "é"}
