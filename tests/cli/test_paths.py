"""SafePath: a path the OS cannot take is the contract's usage error, not an internal one."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest

from cli.contract import StandardErrorFormat, invoke
from cli.paths import SafePath


@click.command()
@click.argument("target", type=SafePath(path_type=Path))
def show(target: Path) -> None:
    click.echo(str(target.name))


@pytest.mark.parametrize("value", ["a\x00b", "\ud800x"])
def test_a_path_the_os_cannot_take_is_a_usage_error(value: str, conveyor_home: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # click.Path's os.stat raised ValueError here, which ended as INTERNAL_ERROR.
    assert invoke(show, StandardErrorFormat(), [value]) == 2
    error = json.loads(capsys.readouterr().err)
    assert error["code"] == "INVALID_ARGUMENTS" and "not a usable path" in error["message"]
    assert not (conveyor_home / "logs" / "cli.log").exists()


def test_ordinary_paths_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert invoke(show, StandardErrorFormat(), [str(tmp_path / "x.txt")]) == 0
    assert capsys.readouterr().out == "x.txt\n"
