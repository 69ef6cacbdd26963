"""--timeout and other durations: finite seconds in range, or an argument error (exit 2)."""

from __future__ import annotations

import json

import click
import pytest

from cli.contract import StandardErrorFormat, invoke
from cli.job_options import MAX_SECONDS, Seconds, timeout_option


@click.command()
@timeout_option(10.0)
@click.option("--age", type=Seconds(), default=None)
def wait(timeout_s: float, age: float | None) -> None:
    click.echo(json.dumps({"timeout_s": timeout_s, "age": age}))


@pytest.mark.parametrize("args", [
    # Found by tests/fuzz: "nan" passed click.FloatRange and made waits endless.
    ["--timeout", "nan"], ["--age", "NaN"],
    ["--timeout", "inf"], ["--timeout", "1e309"], ["--timeout", str(MAX_SECONDS * 2)],
    ["--timeout", "0"], ["--timeout", "-1"], ["--age", "-0.5"], ["--timeout", "soon"],
])
def test_bad_seconds_are_argument_errors(capsys: pytest.CaptureFixture[str],
                                         args: list[str]) -> None:
    assert invoke(wait, StandardErrorFormat(), args) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["code"] == "INVALID_ARGUMENTS" and args[0] in error["message"]


@pytest.mark.parametrize(("args", "expected"), [
    ([], {"timeout_s": 10.0, "age": None}),
    (["--timeout", "0.25", "--age", "0"], {"timeout_s": 0.25, "age": 0.0}),
    (["--timeout", str(MAX_SECONDS)], {"timeout_s": MAX_SECONDS, "age": None}),
])
def test_good_seconds_pass(capsys: pytest.CaptureFixture[str], args: list[str],
                           expected: dict[str, object]) -> None:
    assert invoke(wait, StandardErrorFormat(), args) == 0
    assert json.loads(capsys.readouterr().out) == expected
