"""The openai resolver against a real local HTTP server speaking chat completions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from common.errors import ContractError
from domain.chirality.calls import CallKind, CellRef, ResolverCall
from domain.chirality.problem import Problem
from domain.chirality.resolvers.openai_chat import OpenAIResolver
from tests.support.chat_server import ChatServer
from tests.support.chirality import fast_settings

CELL = CellRef("C", "Problem Requirements", 0, 1, "Normative", "Sufficiency")
PAIR = ResolverCall(CallKind.PAIR, CELL, ("Implementation", "Sufficient Detail"))
PROBLEM = Problem("Release safety", "Ship weekly without breaking users.")


def _resolve(server: ChatServer, call: ResolverCall = PAIR,
             **settings: Any) -> tuple[str, list[float]]:
    delays: list[float] = []

    async def record_sleep(delay_s: float) -> None:
        delays.append(delay_s)

    async def run() -> str:
        resolver = OpenAIResolver(settings=fast_settings(server, **settings), problem=PROBLEM,
                                  sleep=record_sleep, rand=lambda: 0.0)
        try:
            return await resolver.resolve(call)
        finally:
            await resolver.aclose()

    return asyncio.run(run()), delays


def test_one_call_is_one_chat_completion_with_the_model_key_and_prompt(
        chat_server: ChatServer) -> None:
    text, delays = _resolve(chat_server, model="m-test")
    assert (text, delays, chat_server.requests) == ("concept 1", [], 1)
    assert chat_server.models == {"m-test"}
    assert chat_server.authorizations == {"Bearer test-key"}
    system, user = chat_server.last_body["messages"]
    assert system["role"] == "system" and "Release safety" in system["content"]
    assert user["role"] == "user" and '"Implementation * Sufficient Detail"' in user["content"]


def test_a_429_is_retried_after_a_backoff_then_succeeds(chat_server: ChatServer) -> None:
    chat_server.script([429])
    text, delays = _resolve(chat_server, retry_base_s=0.25, retry_cap_s=4.0)
    assert text == "concept 2"
    assert chat_server.statuses == [429, 200]
    assert delays == [0.25]  # compute_backoff_s(1, base 0.25, no jitter drawn)


def test_5xx_until_retries_run_out_is_a_resolver_error(chat_server: ChatServer) -> None:
    chat_server.script([], then_status=500)
    with pytest.raises(ContractError) as caught:
        _resolve(chat_server, max_retries=3, retry_base_s=0.5, retry_cap_s=1.5)
    error = caught.value
    assert (error.code, error.exit_code) == ("RESOLVER_ERROR", 5)
    assert error.details["attempts"] == 4 and error.details["status"] == 500
    assert error.details["cell"] == "C:r0:c1" and error.details["call"] == "pair"
    assert chat_server.statuses == [500, 500, 500, 500]
    assert "C:r0:c1" in error.message and "HTTP 500" in error.message


def test_backoff_doubles_up_to_its_cap(chat_server: ChatServer) -> None:
    chat_server.script([503, 502, 500, 429])
    _, delays = _resolve(chat_server, max_retries=4, retry_base_s=0.5, retry_cap_s=1.5)
    assert delays == [0.5, 1.0, 1.5, 1.5]


def test_a_client_error_is_not_retried(chat_server: ChatServer) -> None:
    chat_server.script([], then_status=401)
    with pytest.raises(ContractError) as caught:
        _resolve(chat_server)
    assert caught.value.exit_code == 5 and caught.value.details["status"] == 401
    assert chat_server.requests == 1


def test_a_slow_answer_times_out_and_is_retried(chat_server: ChatServer) -> None:
    chat_server.latency_s = 2.0
    with pytest.raises(ContractError) as caught:
        _resolve(chat_server, request_timeout_s=0.2, max_retries=1)
    assert caught.value.exit_code == 5
    assert "timed out" in caught.value.message and caught.value.details["attempts"] == 2


def test_an_empty_answer_is_retried_then_fails(chat_server: ChatServer) -> None:
    chat_server.content = "  "
    with pytest.raises(ContractError) as caught:
        _resolve(chat_server, max_retries=1)
    assert caught.value.exit_code == 5 and chat_server.requests == 2
    assert "no text" in caught.value.message


def test_an_unreachable_endpoint_is_a_resolver_error(chat_server: ChatServer) -> None:
    url = chat_server.base_url
    chat_server.stop()
    with pytest.raises(ContractError) as caught:
        _resolve(chat_server, openai_base_url=url, max_retries=1)
    assert caught.value.exit_code == 5 and "connection failed" in caught.value.message


def test_no_api_key_is_a_resolver_error_before_any_request(chat_server: ChatServer) -> None:
    with pytest.raises(ContractError) as caught:
        _resolve(chat_server, openai_api_key=None)
    assert caught.value.exit_code == 5 and "OPENAI_API_KEY" in caught.value.message
    assert chat_server.requests == 0


@pytest.mark.parametrize(("kind", "inputs", "expected"), [
    (CallKind.COMBINE, ("alpha", "beta"), "- alpha\n- beta"),
    (CallKind.LENS_COLUMN, ("text",), 'column lens "Sufficiency"'),
    (CallKind.LENS_ROW, ("text",), 'row lens "Normative"'),
    (CallKind.SYNTHESIS, ("c", "r"), "Column reading: c\nRow reading: r"),
    (CallKind.SHIFT, ("text",), "into the Validation station"),
])
def test_every_step_has_its_prompt(chat_server: ChatServer, kind: CallKind,
                                   inputs: tuple[str, ...], expected: str) -> None:
    _resolve(chat_server, ResolverCall(kind, CELL, inputs))
    assert expected in chat_server.last_body["messages"][1]["content"]
