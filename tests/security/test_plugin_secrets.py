"""Marketplace credentials never leave the request (docs/security.md, "Secrets").

A marketplace URL may carry a password or a token in its user info, and a token in its
query under any name. They reach the server (Basic header, query passed on to relative
sources) and nothing else: not the response, registry.json, the cache index, backups,
journals, telemetry, nor the CLIs' log.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli
from tests.support.plugin_market import LoopbackServer, Market, serve

PASSWORD = "mk-pass-Hc41tN"
TOKEN = "mk-token-Pq09sB"


@pytest.fixture
def server(market: Market) -> Iterator[LoopbackServer]:
    with serve(market.root) as running:
        yield running


def _everything_under(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted(folder.rglob("*"))
                     if p.is_file() and not p.is_symlink())


def test_marketplace_credentials_are_in_no_file_no_log_and_no_answer(
        plugins: PluginsCli, server: LoopbackServer, plugin_dir: Path, conveyor_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a marketplace URL with a password and a token under a name that says nothing,
    # and a server that fails once (so a retry is logged)
    monkeypatch.setenv("YELLOW_PLUGINS_NET_RETRIES", "2")
    # ... and secrets in the environment, which telemetry (it records a few variables)
    # must not pick up
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("OPENAI_API_KEY", PASSWORD)
    host = server.url.removeprefix("http://")
    url = f"http://reader:{PASSWORD}@{host}/?a={TOKEN}"
    server.fail("/marketplace.json", 1)
    # When plugins are installed, updated and a failure is reported from it
    installed = plugins("install", "example-plugin", "--version", "1.2.0", "--marketplace", url)
    assert installed.code == 0, installed.out
    updated = plugins("update", "example-plugin", "--marketplace", url)
    assert updated.code == 0, updated.out
    server.fail("/archives/example-plugin-1.0.0.tar.gz", 10)
    failed = plugins("install", "example-plugin", "--version", "1.0.0", "--force",
                     "--marketplace", url)
    assert failed.error_code == "ERROR-NET-002"
    # Then the URL shows redacted where it shows at all
    shown = installed.out + updated.out + failed.out
    assert f"reader:***@{host}/" in shown and "?a=***" in shown
    # and neither secret is anywhere: answers, the plugin folder, the CLIs' log
    cli_log = (conveyor_home / "logs" / "cli.log").read_text()
    assert "retrying" in cli_log
    for where, text in {"the answers": installed.out + updated.out + failed.out + failed.err,
                        "the plugin folder": _everything_under(plugin_dir),
                        "cli.log": cli_log}.items():
        assert PASSWORD not in text and TOKEN not in text, where
    telemetry = (plugin_dir / "logs" / "telemetry.jsonl").read_text().splitlines()
    assert len(telemetry) == 3 and all(json.loads(line) for line in telemetry)
