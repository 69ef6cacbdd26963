from __future__ import annotations

from pathlib import Path

import pytest

from config.env import ConfigError
from config.synora import FaultPlan, load_synora_settings, parse_faults


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_synora_settings()
    assert settings.home == tmp_path / ".synora"
    assert settings.db_path == tmp_path / ".synora" / "db" / "synora.db"
    assert settings.quarantine_dir == tmp_path / ".synora" / "quarantine"
    assert settings.allowed_roots == ()
    assert settings.faults == FaultPlan()


def test_home_and_roots_are_canonical(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    monkeypatch.setenv("SYNORA_HOME", str(tmp_path / "link" / "home"))
    monkeypatch.setenv("SYNORA_ALLOWED_ROOTS", f"{tmp_path}/a:{tmp_path}/link")
    settings = load_synora_settings()
    assert settings.home == tmp_path / "real" / "home"
    assert settings.allowed_roots == (tmp_path / "a", tmp_path / "real")
    monkeypatch.setenv("SYNORA_HOME", "relative")
    with pytest.raises(ConfigError):
        load_synora_settings()


def test_faults_need_the_test_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNORA_FAULTS", "fail_after_files=2")
    assert load_synora_settings().faults == FaultPlan()
    monkeypatch.setenv("SYNORA_TESTING", "1")
    assert load_synora_settings().faults == FaultPlan(fail_after_files=2)


def test_fault_specs() -> None:
    plan = parse_faults("fail_after_files=3, rollback_fail_after_files=0,force_copy,"
                        "pause_after_files=1,pause_file=/tmp/x,fail_after_registry")
    assert plan == FaultPlan(fail_after_files=3, rollback_fail_after_files=0, force_copy=True,
                             pause_after_files=1, pause_file=Path("/tmp/x"),
                             fail_after_registry=True)
    assert plan.active and not FaultPlan().active
    for bad in ("fail_after_files", "fail_after_files=x", "fail_after_files=-1", "nope",
                "force_copy=1", "pause_file="):
        with pytest.raises(ConfigError):
            parse_faults(bad)
