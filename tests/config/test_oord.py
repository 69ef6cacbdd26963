"""Oord's settings and its beat entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.beat import beat_schedule
from config.env import ConfigError
from config.oord import get_oord_settings
from config.queues import TASK_MODULES


def test_defaults_live_under_the_state_folder(conveyor_home: Path) -> None:
    settings = get_oord_settings()
    root = conveyor_home / "oord"
    assert settings.watch_dir == root / "watch"
    assert settings.trusted_jwks == root / "keys" / "trusted.jwks.json"
    assert (settings.org_id, settings.tl_mode, settings.core_url) == ("ORG-LOCAL", "required",
                                                                      None)
    assert settings.test_pause_dir is None


def test_the_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OORD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("OORD_OUTBOX_DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("OORD_CORE_URL", "http://core:8080")
    monkeypatch.setenv("OORD_SETTLE_SECONDS", "2.5")
    settings = get_oord_settings()
    assert settings.watch_dir == tmp_path / "watch"
    assert settings.outbox_dir == tmp_path / "elsewhere"
    assert settings.core_url == "http://core:8080" and settings.settle_seconds == 2.5


@pytest.mark.parametrize(("name", "value"), [("OORD_TL_MODE", "sometimes"),
                                             ("OORD_SETTLE_SECONDS", "-1"),
                                             ("OORD_LEASE_S", "soon")])
def test_bad_values_are_config_errors(monkeypatch: pytest.MonkeyPatch, name: str,
                                      value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        get_oord_settings()


def test_beat_runs_both_scans_on_the_oord_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OORD_RECEIVE_SCAN_EVERY_S", "7")
    schedule = beat_schedule()
    assert schedule["oord-scan-outgoing"]["task"] == "tasks.oord.scan_outgoing"
    assert schedule["oord-scan-incoming"]["schedule"] == 7.0
    assert "tasks.oord" in TASK_MODULES
