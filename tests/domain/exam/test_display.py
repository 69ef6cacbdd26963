"""session-status display states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.exam.display import SessionView, display

NOW = datetime(2026, 2, 7, 10, 30, tzinfo=UTC)
SID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def _view(state: str, env: str | None = None, **kw: object) -> SessionView:
    base: dict[str, object] = dict(session_id=SID, state=state, reason=None,
                                   duration_seconds=7200, running_at=None, ready_at=None,
                                   updated_at=NOW, env_status=env, env_updated_at=None)
    base.update(kw)
    return SessionView(**base)  # type: ignore[arg-type]


def test_the_contract_ready_example() -> None:
    assert display(_view("ready", "running", ready_at=NOW), NOW) == {
        "session_id": SID,
        "display_state": "ready",
        "message": "Your exam environment is ready",
        "progress": {"current_step": 3, "total_steps": 3, "step_description": "Environment ready"},
        "environment_ready": True,
        "remaining_seconds": 7200,
        "updated_at": "2026-02-07T10:30:00.000Z",
    }


def test_the_contract_error_example() -> None:
    failed = _view("failed", "error", reason="Pod creation timeout after 60 seconds",
                   updated_at=NOW - timedelta(minutes=1))
    assert display(failed, NOW) == {
        "session_id": SID,
        "display_state": "error",
        "message": "Failed to start your exam environment",
        "error_reason": "Container creation timeout",
        "recoverable": False,
        "updated_at": "2026-02-07T10:29:00.000Z",
    }


def test_an_error_never_shows_the_raw_reason() -> None:
    result = display(_view("failed", reason="node 10.0.0.3 kernel panic", ready_at=NOW), NOW)
    assert "10.0.0.3" not in str(result) and result["error_reason"] == "Unexpected error"
    assert result["message"] == "Your exam session stopped because of a problem"


def test_preparing_in_progress_and_ended() -> None:
    assert display(_view("created"), NOW)["progress"]["current_step"] == 1
    initializing = display(_view("initializing", "creating"), NOW)
    assert initializing["display_state"] == "preparing"
    assert initializing["progress"]["current_step"] == 2
    assert initializing["environment_ready"] is False
    running = display(_view("running", "running", running_at=NOW - timedelta(seconds=1800)), NOW)
    assert running["display_state"] == "in_progress" and running["remaining_seconds"] == 5400
    late = display(_view("running", "running", running_at=NOW - timedelta(hours=3)), NOW)
    assert late["remaining_seconds"] == 0
    ended = display(_view("terminated", "destroyed"), NOW)
    assert ended["display_state"] == "ended" and ended["remaining_seconds"] == 0
