"""The lifecycle state machine of reference-facts.md."""

from __future__ import annotations

import pytest

from common.errors import ContractError
from domain.exam.states import SessionState, allowed_transitions, check_transition

EDGES = {
    ("created", "initializing"), ("created", "failed"),
    ("initializing", "ready"), ("initializing", "failed"),
    ("ready", "running"), ("ready", "terminated"), ("ready", "failed"),
    ("running", "terminated"), ("running", "failed"),
}


@pytest.mark.parametrize("current", list(SessionState))
@pytest.mark.parametrize("requested", list(SessionState))
def test_exactly_the_edges_of_the_machine_are_allowed(current: SessionState,
                                                     requested: SessionState) -> None:
    if (current.value, requested.value) in EDGES:
        check_transition(current, requested)
        return
    with pytest.raises(ContractError) as caught:
        check_transition(current, requested)
    err = caught.value
    assert (err.code, err.exit_code) == ("INVALID_TRANSITION", 6)
    assert err.message == f"Cannot transition from '{current}' to '{requested}'"
    assert err.details == {"current_state": current.value, "requested_state": requested.value,
                           "allowed_transitions": allowed_transitions(current)}


def test_terminal_states_allow_nothing_and_nothing_goes_to_created() -> None:
    assert allowed_transitions(SessionState.TERMINATED) == []
    assert allowed_transitions(SessionState.FAILED) == []
    assert all("created" not in allowed_transitions(s) for s in SessionState)
