"""Credentials in configured URLs and keys never show (docs/security.md, "Secrets").

The end-to-end proof is test_secrets.py (real Redis, PostgreSQL and workers); these pin
each place a secret could come out of, one at a time and quickly.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from cli.oord import ERRORS as OORD_ERRORS
from cli.oord import oord
from common.errors import ContractError
from config.chirality import load_chirality_settings
from config.oord import get_oord_settings
from config.redact import redact_url
from domain.chirality.calls import CallKind, CellRef, ResolverCall
from domain.chirality.problem import Problem
from domain.chirality.resolvers.openai_chat import OpenAIResolver
from domain.oord.signers import CoreSigner
from domain.oord.tl_client import TlOutage, fetch_entry
from tests.security.conftest import Invoke
from tests.support.chat_server import ChatServer
from tests.support.chirality import PROBLEM, fast_settings

SECRET = "s3cr3t-Kq72"


@pytest.mark.parametrize(("url", "shown"), [
    (f"redis://:{SECRET}@127.0.0.1:6379/0", "redis://***@127.0.0.1:6379/0"),
    (f"redis://default:{SECRET}@h/0", "redis://default:***@h/0"),
    (f"redis://h:6379/0?password={SECRET}", "redis://h:6379/0?password=***"),
    (f"postgresql://conveyor:{SECRET}@db:5432/conveyor", "postgresql://conveyor:***@db:5432/conveyor"),
    (f"postgresql://db/conveyor?user=c&password={SECRET}",
     "postgresql://db/conveyor?user=***&password=***"),
    (f"https://{SECRET}@core.example/", "https://***@core.example/"),
    (f"https://core.example/?{SECRET}", "https://core.example/?***"),
    ("memory://", "memory://"),
])
def test_broker_database_and_service_urls_are_shown_without_credentials(url: str,
                                                                        shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize("url", [
    f"http://user:{SECRET}@127.0.0.1:1/",        # credentials in the user info
    f"http://{SECRET}@127.0.0.1:1/",             # a token as the user name
    f"http://127.0.0.1:1/?token={SECRET}",       # a token in the query
    f"http://127.0.0.1:{SECRET}/",               # a password where the port goes (a typo)
    f"http://[{SECRET}/",                        # a URL Python cannot even parse
])
def test_core_errors_never_quote_the_urls_credentials(url: str) -> None:
    with pytest.raises(ContractError) as caught:
        CoreSigner(url, api_key=SECRET, timeout_s=2)
    assert caught.value.exit_code == 2
    assert SECRET not in caught.value.message + json.dumps(caught.value.details)


def test_seal_through_core_leaks_neither_url_nor_key(run_command: Invoke, tmp_path: Path,
                                                     conveyor_home: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("a")
    assert run_command(oord, OORD_ERRORS, "oord", "keys", "init").code == 0
    for url in (f"http://u:{SECRET}@127.0.0.1:1/", f"http://127.0.0.1:{SECRET}/"):
        answer = run_command(oord, OORD_ERRORS, "oord", "seal", "--input-dir",
                             str(tmp_path / "in"), "--out", str(tmp_path / "out"),
                             "--core-url", url, "--api-key", SECRET)
        assert answer.code == 2 and "CORE_UNAVAILABLE" in answer.err
        assert SECRET not in answer.out + answer.err
    logs = conveyor_home / "logs"
    assert not logs.exists() or all(SECRET not in p.read_text() for p in logs.iterdir())


def test_tl_outages_never_quote_the_urls_credentials() -> None:
    for url in (f"http://u:{SECRET}@127.0.0.1:1/", f"http://127.0.0.1:{SECRET}/",
                f"ftp://{SECRET}@x/"):
        with pytest.raises(TlOutage) as caught:
            fetch_entry(url, 0, timeout_s=2)
        assert SECRET not in str(caught.value)


def test_agent_config_and_settings_never_show_the_key_or_url_tokens(
        run_command: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OORD_CORE_URL", f"https://ci:{SECRET}@core.example/")
    monkeypatch.setenv("OORD_TL_URL", f"https://tl.example/?token={SECRET}")
    monkeypatch.setenv("OORD_API_KEY", SECRET)
    shown = run_command(oord, OORD_ERRORS, "oord", "agent", "config")
    assert shown.code == 0
    config = json.loads(shown.out)
    assert config["core_url"] == "https://ci:***@core.example/"
    assert config["tl_url"] == "https://tl.example/?token=***"
    assert "api_key" not in config and SECRET not in shown.out
    assert SECRET not in repr(get_oord_settings())
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    assert SECRET not in repr(load_chirality_settings())


def test_an_endpoint_quoting_the_key_back_does_not_put_it_in_the_error() -> None:
    with ChatServer() as server:
        server.quote_key_in_errors = True
        server.script([], then_status=401)
        settings = fast_settings(server, openai_api_key=SECRET)
        resolver = OpenAIResolver(settings=settings, problem=Problem(**PROBLEM))
        call = ResolverCall(CallKind.PAIR, CellRef("C", "Problem Requirements", 0, 0,
                                                    "Normative", "Necessity"), ("a", "b"))

        async def resolve() -> str:
            try:
                return await resolver.resolve(call)
            finally:
                await resolver.aclose()

        with pytest.raises(ContractError) as caught:
            asyncio.run(resolve())
    assert server.authorizations == {f"Bearer {SECRET}"}  # the key was sent ...
    assert "Incorrect API key provided: Bearer ***" in caught.value.message  # ... not shown
    assert SECRET not in caught.value.message + json.dumps(caught.value.details)
