from __future__ import annotations

from pathlib import Path

import pytest

from config.env import ConfigError
from config.settings import load_settings


def test_defaults_put_state_under_the_home_folder(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("CONVEYOR_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load_settings()
    assert settings.home == tmp_path / ".local" / "share" / "conveyor"
    assert settings.effective_database_url == f"sqlite:///{settings.home / 'conveyor.db'}"
    assert settings.broker_url is None


def test_values_come_from_conveyor_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_BROKER_URL", "redis://h:1/0")
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("CONVEYOR_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("CONVEYOR_VISIBILITY_TIMEOUT_S", "8")
    settings = load_settings()
    assert settings.broker_url == "redis://h:1/0"
    assert settings.effective_database_url == "postgresql://u@h/db"
    assert settings.log_level == "debug"
    assert settings.visibility_timeout_s == 8.0
    assert settings.lease_renew_s == 2.0  # a quarter of the visibility timeout


@pytest.mark.parametrize(("name", "value"), [
    ("CONVEYOR_VISIBILITY_TIMEOUT_S", "soon"),
    ("CONVEYOR_VISIBILITY_TIMEOUT_S", "0"),
    ("CONVEYOR_VISIBILITY_TIMEOUT_S", "nan"),
    ("CONVEYOR_LOG_LEVEL", "loud"),
    ("CONVEYOR_LOG_FORMAT", "xml"),
    ("CONVEYOR_RESULT_EXPIRES_S", "1.5"),
])
def test_bad_values_are_reported_by_name(monkeypatch: pytest.MonkeyPatch, name: str,
                                         value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=name):
        load_settings()
