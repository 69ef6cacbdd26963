"""Every unusable answer and bad base URL, in-process (the CLI tests run one of each kind)."""

from __future__ import annotations

import asyncio

import pytest

from common.errors import ContractError
from config.chirality import load_chirality_settings
from config.env import ConfigError
from domain.chirality.resolvers.openai_chat import OpenAIResolver
from tests.cli.chirality.test_resolver_failures import KINDS
from tests.domain.chirality.test_openai_resolver import PAIR, PROBLEM
from tests.support.chat_server import ChatServer
from tests.support.chirality import fast_settings


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_of_failure_is_a_resolver_error_with_its_cause(
        name: str, chat_server: ChatServer) -> None:
    kind = KINDS[name]
    if kind.answer is not None:
        chat_server.raw = kind.answer
    else:
        chat_server.script([], then_status=kind.status or 500)

    async def run() -> str:
        resolver = OpenAIResolver(settings=fast_settings(chat_server), problem=PROBLEM)
        try:
            return await resolver.resolve(PAIR)
        finally:
            await resolver.aclose()

    with pytest.raises(ContractError) as caught:
        asyncio.run(run())
    error = caught.value
    assert (error.code, error.exit_code) == ("RESOLVER_ERROR", 5)
    assert kind.says in error.message, error.message
    attempts = 3 if kind.retried else 1  # fast_settings: max_retries 2
    assert (error.details["attempts"], error.details["status"]) == (attempts, kind.http_status)
    assert chat_server.requests == attempts


@pytest.mark.parametrize("url", ["notaurl", "ftp://127.0.0.1/v1", "http://", "http://h:port/v1",
                                 "127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1 ",
                                 "file:///etc/passwd"])
def test_a_base_url_that_is_not_http_is_a_settings_error(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    with pytest.raises(ConfigError, match="OPENAI_BASE_URL must be an http:// or https:// URL"):
        load_chirality_settings()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/v1", "https://api.openai.com/v1/",
                                 "HTTPS://example.org"])
def test_http_and_https_base_urls_are_accepted(url: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    assert load_chirality_settings().openai_base_url == url


def test_organization_and_project_headers_are_sent_only_when_set(monkeypatch):
    from config.chirality import load_chirality_settings
    from domain.chirality.resolvers.openai_chat import request_headers

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("OPENAI_ORG_ID", raising=False)
    monkeypatch.delenv("OPENAI_PROJECT_ID", raising=False)
    plain = request_headers(load_chirality_settings())
    assert plain["Authorization"] == "Bearer sk-test"
    assert "OpenAI-Organization" not in plain and "OpenAI-Project" not in plain

    monkeypatch.setenv("OPENAI_ORG_ID", "org-123")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj_456")
    both = request_headers(load_chirality_settings())
    assert both["OpenAI-Organization"] == "org-123"
    assert both["OpenAI-Project"] == "proj_456"
