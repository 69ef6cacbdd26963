"""The deadline and failures: every call in flight is cancelled, the error says why."""

from __future__ import annotations

import asyncio
import time

import pytest

from common.errors import ContractError
from domain.chirality.calls import CallKind, ResolverCall
from domain.chirality.compute import compute
from domain.chirality.errors import resolver_error
from tests.support.chirality import FakeResolver


class Stuck(FakeResolver):
    """Answers the first ``answer`` calls, then never again; counts what was cancelled."""

    name = "stuck"

    def __init__(self, answer: int = 0) -> None:
        super().__init__()
        self.answer = answer
        self.started = 0
        self.cancelled = 0
        self.closed = False

    async def resolve(self, call: ResolverCall) -> str:
        self.started += 1
        if self.started <= self.answer:
            return "ok"
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        return "never"

    async def aclose(self) -> None:
        self.closed = True

    @classmethod
    def answering_all(cls) -> Stuck:
        return cls(answer=10_000)


def test_the_deadline_cancels_every_call_in_flight() -> None:
    resolver = Stuck(answer=10)
    with pytest.raises(ContractError) as caught:
        compute(lambda: resolver, concurrency=6, deadline=time.monotonic() + 0.2)
    assert (caught.value.code, caught.value.exit_code) == ("TIMEOUT", 3)
    assert caught.value.details == {"resolver_calls": 10, "resolver_attempts": 0,
                                    "resolver_retries": 0, "resolver_last_error": None}
    assert resolver.cancelled == 6 == resolver.started - 10  # every slot was in flight
    assert resolver.closed


def test_a_deadline_already_past_stops_before_any_call() -> None:
    resolver = Stuck(answer=1000)
    with pytest.raises(ContractError) as caught:
        compute(lambda: resolver, concurrency=4, deadline=time.monotonic() - 1)
    assert caught.value.exit_code == 3
    assert resolver.started == 0


def test_a_resolver_error_stops_the_run_and_cancels_the_rest() -> None:
    class FailsOnE(FakeResolver):
        name = "fails"

        def __init__(self) -> None:
            super().__init__()
            self.cancelled = 0

        async def resolve(self, call: ResolverCall) -> str:
            if call.cell.id == "C:r1:c1" and call.kind is CallKind.COMBINE:
                raise resolver_error("model said no", cell=call.cell.id)
            try:
                await asyncio.sleep(0.001 if call.cell.matrix == "C" else 30)
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
            return "ok"

        async def aclose(self) -> None:
            return None

    resolver = FailsOnE()
    with pytest.raises(ContractError) as caught:
        compute(lambda: resolver, concurrency=8, deadline=time.monotonic() + 60)
    assert (caught.value.code, caught.value.exit_code) == ("RESOLVER_ERROR", 5)
    assert caught.value.details["cell"] == "C:r1:c1"
    assert caught.value.details["resolver_calls"] >= 1
    assert resolver.cancelled >= 1  # the F calls sleeping 30 s were cancelled, not waited for


def test_an_unexpected_error_of_a_resolver_is_a_resolver_error_that_names_it() -> None:
    class Broken(FakeResolver):
        name = "broken"

        async def resolve(self, call: ResolverCall) -> str:
            raise KeyError("bug")

    with pytest.raises(ContractError) as caught:
        compute(Broken, concurrency=2, deadline=time.monotonic() + 60)
    error = caught.value
    assert (error.code, error.exit_code) == ("RESOLVER_ERROR", 5)
    assert "the broken resolver failed on C:r0:c" in error.message
    assert "KeyError: 'bug'" in error.message  # the cause, not "unhandled errors in a TaskGroup"
    assert isinstance(error.__cause__, KeyError)


def test_a_failure_outside_the_resolver_surfaces_as_itself_not_as_a_group(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from domain.chirality.graph import ProgressTracker

    def broken_progress(self: ProgressTracker, matrix: str) -> None:
        raise ZeroDivisionError("a bug of the graph")

    monkeypatch.setattr(ProgressTracker, "cell_done", broken_progress)
    with pytest.raises(ZeroDivisionError, match="a bug of the graph"):
        compute(Stuck.answering_all, concurrency=2, deadline=time.monotonic() + 60)
