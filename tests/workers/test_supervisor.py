"""The supervisor's restart policy: backoff per crash in a row, given up after too many."""

from __future__ import annotations

from workers.supervisor import (
    CRASH_WINDOW_S,
    GIVE_UP_AFTER,
    MAX_BACKOFF_S,
    Child,
    backoff_s,
    record_crash,
)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_s(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert backoff_s(50) == MAX_BACKOFF_S


def test_a_component_crashing_too_often_is_given_up() -> None:
    child = Child("worker-ops", ["true"])
    for n in range(GIVE_UP_AFTER - 1):
        record_crash(child, now=float(n))
        assert child.state == "restarting"
        assert child.restart_at == n + backoff_s(n + 1)
    record_crash(child, now=float(GIVE_UP_AFTER))
    assert child.state == "gave_up"


def test_crashes_far_apart_are_each_restarted() -> None:
    child = Child("beat", ["true"])
    for n in range(GIVE_UP_AFTER * 2):
        record_crash(child, now=n * (CRASH_WINDOW_S + 1))
        assert child.state == "restarting"
        assert child.restart_at == n * (CRASH_WINDOW_S + 1) + backoff_s(1)
