"""cleanup-ttl check rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.exam.ttl import TtlView, check

NOW = datetime(2026, 2, 7, 12, 0, tzinfo=UTC)
SID = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"


def _view(state: str, *, expires_in: float | None = None, abandon_in: float = 10_000,
          env: str | None = None) -> TtlView:
    return TtlView(session_id=SID, state=state,
                   expires_at=NOW + timedelta(seconds=expires_in) if expires_in is not None
                   else None,
                   abandon_at=NOW + timedelta(seconds=abandon_in), env_status=env)


def test_the_contract_example() -> None:
    assert check(_view("running", expires_in=3600), NOW) == {
        "session_id": SID, "should_cleanup": False, "reason": "Session still active",
        "ttl_remaining_seconds": 3600}


def test_expired_and_abandoned() -> None:
    expired = check(_view("running", expires_in=-1), NOW)
    assert expired["should_cleanup"] is True and "expired" in expired["reason"]
    abandoned = check(_view("created", abandon_in=0), NOW)
    assert abandoned["should_cleanup"] is True and "abandoned" in abandoned["reason"]
    assert abandoned["ttl_remaining_seconds"] == 0


def test_a_ready_session_counts_down_to_abandonment() -> None:
    assert check(_view("ready", abandon_in=500), NOW)["ttl_remaining_seconds"] == 500


def test_ended_sessions() -> None:
    assert check(_view("terminated", env="destroyed"), NOW)["should_cleanup"] is False
    leftover = check(_view("failed", env="running"), NOW)
    assert leftover["should_cleanup"] is True
