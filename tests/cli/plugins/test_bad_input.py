"""Bad input the hypothesis suite (tests/fuzz/test_plugins_cli.py) found: each case used to
end as an internal error (ERR-*-099), a traceback, or a replaced device file."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from tests.cli.plugins.conftest import PluginsCli, active_target, registry
from tests.support.plugin_market import Market

INTENT = {"nodeVersion": "20.10.0", "os": "linux", "arch": "x64"}


@pytest.mark.parametrize("content", [b"[" * 100_000, None])
def test_input_nested_too_deeply_or_with_a_nul_in_its_name(plugins: PluginsCli, project: Path,
                                                          content: bytes | None) -> None:
    # RecursionError from the JSON parser; ValueError from open() for the NUL byte.
    path = project / "request.json"
    if content is not None:
        path.write_bytes(content)
    call = plugins("install", "--input", str(path) if content is not None else "a\x00b")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-003"


@pytest.mark.parametrize("target", [".", "a\x00b", "n" * 300, "x" * 250])
def test_output_paths_that_cannot_be_written(plugins: PluginsCli, plugin_dir: Path,
                                             target: str) -> None:
    # A usage error rendered to '.' or a NUL name raised ValueError past the error
    # handler (a traceback); a name too long for its temporary sibling was found only
    # after the install had been done.
    usage = plugins("install", "--bogus", "--output", target)
    assert usage.code == 2 and usage.error_code == "ERROR-SCHEMA-002"
    call = plugins("install", "example-plugin", "--output", target)
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002", call.response
    assert not plugin_dir.exists()


def test_output_into_a_fifo_writes_into_it_and_keeps_it(plugins: PluginsCli,
                                                        project: Path) -> None:
    # The response was renamed over the target: a FIFO (or, as root, /dev/null) was
    # replaced by a regular file.
    fifo = project / "response.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    call = plugins("install", "example-plugin", "--output", str(fifo))
    reader.join(timeout=30)
    assert call.code == 0 and call.out == ""
    assert json.loads(received[0])["status"] == "success"
    assert fifo.is_fifo()


def test_lone_surrogates_in_telemetry_context_do_not_fail_the_install(
        plugins: PluginsCli, project: Path, plugin_dir: Path) -> None:
    # Writing the telemetry event (after the commit) raised UnicodeEncodeError.
    request = {"pluginId": "example-plugin", "version": "1.2.3", "compatibilityIntent": INTENT,
               "telemetryContext": {"tags": {"x": "\udcff"}, "sessionId": "\ud800"}}
    (project / "request.json").write_text(json.dumps(request))
    call = plugins("install", "--input", "request.json")
    assert call.code == 0, call.response
    event = json.loads((plugin_dir / "logs" / "telemetry.jsonl").read_text().splitlines()[-1])
    assert event["telemetryContext"]["tags"] == {"x": "\udcff"}


def test_a_marketplace_folder_whose_name_is_not_utf8(plugins: PluginsCli, market: Market,
                                                     plugin_dir: Path, tmp_path: Path) -> None:
    # registry.json was written as UTF-8 text, which a lone surrogate (a non-UTF-8 byte
    # of the path) cannot be: the install failed at its commit point.
    odd = tmp_path / os.fsdecode(b"market-\xff")
    shutil.copytree(market.root, odd)
    call = plugins("install", "example-plugin", "--marketplace", str(odd))
    assert call.code == 0, call.response
    assert registry(plugin_dir)["example-plugin"]["marketplace"] == str(odd)


@pytest.mark.parametrize("damage", [
    {"history": "none"}, {"version": 3}, {"pluginId": "other"}, {"history": [{"v": 1}]},
    {"cachePath": ["x"]}])
def test_a_registry_entry_of_the_wrong_shape_is_refused(plugins: PluginsCli, plugin_dir: Path,
                                                        damage: dict[str, object]) -> None:
    # Entries were trusted: KeyError/TypeError/AttributeError (ERR-*-099).
    plugins("install", "example-plugin", "--version", "1.2.3")
    path = plugin_dir / "registry.json"
    document = json.loads(path.read_text())
    document["plugins"]["example-plugin"].update(damage)
    path.write_text(json.dumps(document))
    for args in (["install", "another-plugin"], ["update", "--all"],
                 ["rollback", "example-plugin", "--flag", "enableRollback=true"]):
        call = plugins(*args)
        assert call.code == 1 and call.error_code == "ERROR-INST-004", call.response
        assert "registry.json is not a plugin registry" in call.response["message"]
    assert json.loads(path.read_text()) == document


@pytest.mark.parametrize("damage", [None, [1, 2], {"1.2.3": "x"}, {"1.2.3": {"path": 1}},
                                    {"1.2.3": {"path": "p", "lastUsedAt": "t",
                                               "sizeBytes": "many"}}])
def test_malformed_cache_index_entries_are_dropped(plugins: PluginsCli, plugin_dir: Path,
                                                   damage: object) -> None:
    # {"entries": {"example-plugin": null}} raised AttributeError, other shapes KeyError,
    # TypeError or ValueError (ERR-INSTALL-099).
    plugins("install", "example-plugin", "--version", "1.2.3")
    index = plugin_dir / "cache" / "index.json"
    document = json.loads(index.read_text())
    document["entries"]["example-plugin"] = damage
    index.write_text(json.dumps(document))
    call = plugins("install", "example-plugin", "--version", "1.3.0")
    assert call.code == 0, call.response
    assert active_target(plugin_dir, "example-plugin") == "../cache/example-plugin/1.3.0"


def test_a_flags_file_nested_too_deeply(plugins: PluginsCli, plugin_dir: Path) -> None:
    plugin_dir.mkdir()
    (plugin_dir / "flags.json").write_bytes(b"[" * 100_000)
    call = plugins("install", "example-plugin")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-005"


def test_a_plugin_dir_with_a_nul_byte_is_a_usage_error(plugins: PluginsCli) -> None:
    call = plugins("install", "example-plugin", "--plugin-dir", "a\x00b")
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002"


@pytest.mark.parametrize("folder", ["a" * 256, "b/" * 2100])
def test_a_plugin_dir_no_file_system_can_hold(plugins: PluginsCli, folder: str) -> None:
    # ENAMETOOLONG came half-way (ERROR-INST-004), then again from the telemetry step's
    # is_dir(), which ended as an internal error.
    call = plugins("install", "stable-plugin", "--plugin-dir", folder)
    assert call.code == 2 and call.error_code == "ERROR-SCHEMA-002", call.response
