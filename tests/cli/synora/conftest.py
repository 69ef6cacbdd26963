"""Fixtures for the `synora` contract tests: a private SYNORA_HOME and package trees."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.synora import Synora, make_tree


@pytest.fixture
def synora(tmp_path: Path, conveyor_home: Path, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[Synora]:
    home = tmp_path / "synora-home"
    monkeypatch.setenv("SYNORA_HOME", str(home))
    env = {**os.environ, "SYNORA_HOME": str(home)}
    env.pop("SYNORA_TESTING", None)
    env.pop("SYNORA_FAULTS", None)
    yield Synora(home=home, env=env)
    from store.engine import dispose_engines

    dispose_engines()


@pytest.fixture
def package_root(tmp_path: Path) -> Path:
    """A sample package tree at <tmp>/apps/tool (not yet registered)."""
    return make_tree(tmp_path / "apps" / "tool")
