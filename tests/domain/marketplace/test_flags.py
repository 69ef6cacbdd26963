"""Feature flags: precedence, sources, applied flags, flags.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.marketplace.flags import read_flags_file, resolve_flags


def test_precedence_override_env_file_default() -> None:
    flags = resolve_flags(overrides={"enableRollback": False},
                          env={"enableRollback": True, "enableLifecycleHooks": True},
                          file={"enableLifecycleHooks": False, "strictCompatibility": True})
    assert flags.values["enableRollback"] is False and flags.sources["enableRollback"] == "override"
    assert flags.values["enableLifecycleHooks"] is True
    assert flags.sources["enableLifecycleHooks"] == "env"
    assert flags.sources["strictCompatibility"] == "file"
    assert flags.values["enableCompatibilityChecks"] is True
    assert flags.sources["enableCompatibilityChecks"] == "default"


def test_evaluations_report_the_flags_consulted() -> None:
    flags = resolve_flags(overrides={}, env={}, file={"enableRollback": True})
    assert flags.evaluations()["appliedFlags"] == []
    flags.enabled("enableCompatibilityChecks")
    assert flags.evaluations()["source"] == "default"
    flags.enabled("enableRollback")
    flags.enabled("enableRollback")
    evaluation = flags.evaluations()
    assert evaluation["appliedFlags"] == ["enableCompatibilityChecks", "enableRollback"]
    assert evaluation["source"] == "config"
    assert len(evaluation["flags"]) == 7


def test_flags_file(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    assert read_flags_file(path) == {}
    path.write_text(json.dumps({"enableRollback": True}))
    assert read_flags_file(path) == {"enableRollback": True}


@pytest.mark.parametrize("content", ["[]", "{", '{"enableRollback": 1}', '{"enableMagic": true}'])
def test_bad_flags_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "flags.json"
    path.write_text(content)
    with pytest.raises(ContractError) as caught:
        read_flags_file(path)
    assert caught.value.code == "ERROR-SCHEMA-005" and caught.value.exit_code == 2
