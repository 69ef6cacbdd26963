"""Exam settings and the beat entry of the TTL sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.beat import beat_schedule
from config.env import ConfigError
from config.exam import load_exam_settings


def test_defaults(conveyor_home: Path) -> None:
    settings = load_exam_settings()
    assert (settings.backend, settings.namespace) == ("local", "exam-sessions")
    assert settings.local_root == conveyor_home / "exam" / "environments"
    assert settings.default_duration_s == 7200 and settings.kubeconfig is None


def test_the_sweep_runs_every_five_minutes_unless_configured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    entry = beat_schedule()["exam-cleanup-ttl"]
    assert (entry["task"], entry["schedule"]) == ("tasks.sweeps.exam_cleanup_ttl", 300.0)
    monkeypatch.setenv("CONVEYOR_EXAM_SWEEP_EVERY_S", "60")
    assert beat_schedule()["exam-cleanup-ttl"]["schedule"] == 60.0


@pytest.mark.parametrize(("name", "value"), [
    ("CONVEYOR_EXAM_BACKEND", "docker"), ("CONVEYOR_EXAM_NAMESPACE", "../up"),
    ("CONVEYOR_EXAM_NAMESPACE", "Exam"), ("CONVEYOR_EXAM_API_TIMEOUT_S", "soon"),
])
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError):
        load_exam_settings()
