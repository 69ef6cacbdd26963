"""Fixtures of the chirality tests (imported by their conftest.py files)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from config.chirality import ChiralitySettings, load_chirality_settings
from domain.chirality.attempts import ResolverAttempts
from tests.support.chat_server import ChatServer

PROBLEM = {"title": "Release safety", "statement": "Ship weekly without breaking users."}


@pytest.fixture(autouse=True)
def chirality_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No chirality or OpenAI settings leak in from the machine running the tests."""
    for name in list(os.environ):
        if name.startswith(("CHIRALITY_", "OPENAI_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir()
    return root


@pytest.fixture
def problem_file(tmp_path: Path) -> Path:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(PROBLEM))
    return path


@pytest.fixture
def chat_server() -> Iterator[ChatServer]:
    """A chat completions endpoint on loopback; tests script it before use."""
    server = ChatServer().start()
    yield server
    server.stop()


def fast_settings(server: ChatServer | None = None, **overrides: Any) -> ChiralitySettings:
    """Settings for tests: the local endpoint, a key, and retries without real waiting."""
    base = load_chirality_settings()
    values: dict[str, Any] = {"openai_api_key": "test-key", "retry_base_s": 0.001,
                              "retry_cap_s": 0.005, "max_retries": 2, "lock_poll_s": 0.01}
    if server is not None:
        values["openai_base_url"] = server.base_url
    values.update(overrides)
    return dataclasses.replace(base, **values)


def openai_env(server: ChatServer, **extra: str) -> dict[str, str]:
    """Environment variables pointing the openai resolver at ``server``, retrying fast."""
    return {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "test-key",
            "CHIRALITY_RETRY_BASE_S": "0.001", "CHIRALITY_RETRY_CAP_S": "0.005",
            "CHIRALITY_MAX_RETRIES": "2", **extra}


class FakeResolver:
    """Base of the tests' own resolvers: what every resolver has besides resolve()."""

    name = "fake"

    def __init__(self) -> None:
        self.attempts = ResolverAttempts()

    async def aclose(self) -> None:
        return None


def error_of(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON error line that is all of stderr; stdout must be empty."""
    assert result.stdout == "", result.stdout
    [line] = result.stderr.splitlines()
    error: dict[str, Any] = json.loads(line)["error"]
    assert set(error) == {"code", "message", "details"}
    return error
