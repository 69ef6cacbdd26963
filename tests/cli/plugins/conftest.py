"""Fixtures for the `plugins` CLI: a project folder, a test marketplace, an in-process caller
that validates every response against its contract schema."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cli.plugin_schema import check
from cli.plugins import ALIASES, invoke_plugins
from domain.marketplace.errors import CODES
from tests.cli.plugins.original_schemas import problems as original_problems
from tests.support.plugin_market import Market, standard_market

NODE_VERSION = "20.10.0"
COMMANDS = ("install", "update", "rollback")


def command_of(args: tuple[str, ...]) -> str:
    for arg in args:
        if not arg.startswith("-"):
            name = ALIASES.get(arg, arg)
            return name if name in COMMANDS else "install"
    return "install"  # every file's response envelope has the same base


def assert_response(command: str, response: dict[str, Any], code: int) -> None:
    """Valid against the command's response schema and the original's, and the exit code
    fits the status."""
    problem = check(command, "response", response)
    assert problem is None, f"response fails {command}.json: {problem.details['context']}\n" \
                            f"{json.dumps(response, indent=2)}"
    original = original_problems(command, "response", response)
    assert not original, f"response fails the original {command}.json: {original}\n" \
                         f"{json.dumps(response, indent=2)}"
    if response["status"] == "error":
        assert code == CODES[response["error"]["code"]].exit_code
    else:
        assert code == 0


@dataclass
class Call:
    code: int
    out: str
    err: str
    response: dict[str, Any]

    @property
    def data(self) -> dict[str, Any]:
        return self.response["data"]  # type: ignore[no-any-return]

    @property
    def error_code(self) -> str | None:
        error = self.response.get("error")
        return error["code"] if error else None


class PluginsCli:
    """plugins <args> in this process; stdout parsed and checked against the schema."""

    def __init__(self, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str | None = None) -> Call:
        if stdin is not None:
            self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = invoke_plugins(list(args))
        captured = self.capsys.readouterr()
        text = captured.out.strip()
        response = json.loads(text) if text.startswith("{") else {}
        if response:
            assert_response(command_of(args), response, code)
        return Call(code, captured.out, captured.err, response)


@pytest.fixture
def market(tmp_path: Path) -> Market:
    return standard_market(tmp_path / "market")


@pytest.fixture
def project(tmp_path: Path, market: Market, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The working folder (./.claude-plugin lives here), marketplace configured by env."""
    folder = tmp_path / "project"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("YELLOW_PLUGINS_MARKETPLACE", str(market.root))
    monkeypatch.setenv("YELLOW_PLUGINS_NET_BACKOFF_BASE_S", "0.01")
    monkeypatch.setenv("YELLOW_PLUGINS_NET_BACKOFF_CAP_S", "0.02")
    yield folder


@pytest.fixture
def plugins(project: Path, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> PluginsCli:
    # The machine probe runs `node --version` (0.2 s a call); interactive tests here pin it.
    # The catalog-example tests run the real console script, probe included.
    monkeypatch.setattr("domain.marketplace.host._version_of",
                        lambda program: NODE_VERSION if program == "node" else None)
    return PluginsCli(capsys, monkeypatch)


@pytest.fixture
def plugin_dir(project: Path) -> Path:
    return project / ".claude-plugin"


def active_target(plugin_dir: Path, plugin_id: str) -> str | None:
    link = plugin_dir / "plugins" / plugin_id
    return os.readlink(link) if link.is_symlink() else None


def registry(plugin_dir: Path) -> dict[str, Any]:
    path = plugin_dir / "registry.json"
    return json.loads(path.read_text())["plugins"] if path.exists() else {}  # type: ignore


def snapshot(root: Path) -> dict[str, str]:
    """Every path under root with its content digest or link target (to prove no change)."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        if path.is_symlink():
            found[rel] = "-> " + os.readlink(path)
        elif path.is_file():
            found[rel] = path.read_bytes().hex()[:64] + str(path.stat().st_size)
        else:
            found[rel] = "dir"
    return found
