"""`plugins` against a loopback HTTP marketplace: downloads, checksums, retries, secrets."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, active_target, registry
from tests.support.plugin_market import LoopbackServer, Market, serve

ARCHIVE = "/archives/example-plugin-1.3.0.tar.gz"


@pytest.fixture
def server(market: Market, monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackServer]:
    with serve(market.root) as running:
        monkeypatch.setenv("YELLOW_PLUGINS_MARKETPLACE", running.url)
        yield running


def test_install_update_and_rollback_over_http(plugins: PluginsCli, server: LoopbackServer,
                                               plugin_dir: Path) -> None:
    first = plugins("install", "another-plugin", "--version", "2.0.0")
    assert first.code == 0
    assert first.response["telemetry"]["bytesDownloaded"] > 0
    assert server.hits["/archives/another-plugin-2.0.0.zip"] == 1
    update = plugins("update", "--all")
    assert update.data["updated"][0]["toVersion"] == "2.1.0"
    back = plugins("rollback", "another-plugin", "--flag", "enableRollback=true")
    assert back.data["cacheSource"] == "cached"
    assert server.hits["/archives/another-plugin-2.0.0.zip"] == 1  # no second download
    assert active_target(plugin_dir, "another-plugin") == "../cache/another-plugin/2.0.0"


def test_marketplace_url_may_name_the_json_file(plugins: PluginsCli,
                                                server: LoopbackServer) -> None:
    call = plugins("install", "stable-plugin", "--marketplace",
                   f"{server.url}/marketplace.json")
    # A folder source cannot be served over HTTP: only archives can.
    assert call.error_code == "ERROR-INST-001"
    assert plugins("install", "example-plugin", "--marketplace",
                   f"{server.url}/marketplace.json").code == 0


def test_checksum_mismatch_over_http(plugins: PluginsCli, server: LoopbackServer,
                                     market: Market, plugin_dir: Path) -> None:
    plugins("install", "example-plugin", "--version", "1.2.0")
    (market.root / ARCHIVE.lstrip("/")).write_bytes(b"\x1f\x8b tampered in transit")
    call = plugins("install", "example-plugin", "--version", "1.3.0")
    assert call.code == 1 and call.error_code == "ERROR-INST-005"
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.2.0"
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.2.0"


def test_server_errors_are_retried_with_backoff(plugins: PluginsCli,
                                                server: LoopbackServer) -> None:
    server.fail(ARCHIVE, times=2)
    call = plugins("install", "example-plugin")
    assert call.code == 0
    assert server.hits[ARCHIVE] == 3  # two 503s, then the archive


def test_retries_run_out(plugins: PluginsCli, server: LoopbackServer,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_NET_RETRIES", "2")
    server.fail(ARCHIVE, times=10)
    call = plugins("install", "example-plugin")
    assert call.code == 1 and call.error_code == "ERROR-NET-002"
    assert call.response["error"]["context"]["attempts"] == 3
    assert server.hits[ARCHIVE] == 3


def test_not_found_is_not_retried(plugins: PluginsCli, server: LoopbackServer,
                                  market: Market) -> None:
    (market.root / ARCHIVE.lstrip("/")).unlink()
    call = plugins("install", "example-plugin")
    assert call.error_code == "ERROR-NET-002"
    assert call.response["error"]["context"]["status"] == 404
    assert server.hits[ARCHIVE] == 1


def test_unreachable_marketplace(plugins: PluginsCli, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("YELLOW_PLUGINS_NET_RETRIES", "1")
    call = plugins("install", "example-plugin", "--marketplace", f"http://127.0.0.1:{port}/")
    assert call.code == 1 and call.error_code == "ERROR-NET-001"
    assert call.response["error"]["context"]["attempts"] == 2


def test_tokens_reach_the_server_but_never_the_output(plugins: PluginsCli,
                                                      server: LoopbackServer,
                                                      plugin_dir: Path) -> None:
    server.require_token("s3cr3t-token")
    call = plugins("install", "example-plugin", "--marketplace",
                   f"{server.url}/?token=s3cr3t-token")
    assert call.code == 0
    assert server.hits[ARCHIVE] == 1
    stored = (plugin_dir / "registry.json").read_text() + \
        (plugin_dir / "logs" / "telemetry.jsonl").read_text() + \
        (plugin_dir / "cache" / "index.json").read_text()
    assert "s3cr3t-token" not in stored and "token=***" in stored
    # An error message naming the URL is redacted as well.
    server.require_token("another")
    failed = plugins("install", "example-plugin", "--version", "1.0.0", "--marketplace",
                     f"{server.url}/?token=s3cr3t-token")
    assert failed.error_code == "ERROR-NET-002"
    assert "s3cr3t-token" not in failed.out
    assert json.loads(failed.out)["error"]["context"]["url"].endswith("token=***")
