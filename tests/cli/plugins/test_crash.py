"""Failures injected into the install transaction (YELLOW_PLUGINS_TEST_FAULT).

":exit" kills the real `plugins` process mid-step, as a crash would; the next command's
recovery must leave the previous version active (or finish a committed transaction).
":raise" fails the step in process; the transaction must undo itself at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from domain.marketplace.faults import CRASH_EXIT_CODE
from tests.cli.plugins.conftest import (
    PluginsCli,
    active_target,
    assert_response,
    command_of,
    registry,
    snapshot,
)
from tests.support.cli import run_cli

OLD, NEW = "../cache/example-plugin/1.2.0", "../cache/example-plugin/1.3.0"


def plugins_process(project: Path, *args: str, fault: str | None = None) -> tuple[int, str]:
    env = dict(os.environ)
    env.pop("YELLOW_PLUGINS_TEST_FAULT", None)
    if fault:
        env["YELLOW_PLUGINS_TEST_FAULT"] = fault
    result = run_cli("plugins", *args, "--node-version", "20.10.0", env=env, cwd=project)
    if result.stdout.strip():  # a crashed process answers nothing; every answer is checked
        assert_response(command_of(args), json.loads(result.stdout), result.returncode)
    return result.returncode, result.stdout


@pytest.fixture
def at_old(plugins: PluginsCli) -> None:
    assert plugins("install", "example-plugin", "--version", "1.2.0").code == 0


def index_versions(plugin_dir: Path) -> set[str]:
    index = json.loads((plugin_dir / "cache" / "index.json").read_text())
    return set(index["entries"]["example-plugin"])


@pytest.mark.usefixtures("at_old")
def test_crash_mid_promote_leaves_the_previous_version_active(project: Path,
                                                              plugin_dir: Path) -> None:
    # When the process dies right after the new version was moved into the cache
    code, out = plugins_process(project, "update", "example-plugin", fault="promote:exit")
    # Then: no answer, a half-promoted folder, but the old version still active
    assert code == CRASH_EXIT_CODE and out == ""
    assert active_target(plugin_dir, "example-plugin") == OLD
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.2.0"
    assert (plugin_dir / "cache" / "example-plugin" / "1.3.0").is_dir()
    assert len(list((plugin_dir / "tmp").iterdir())) == 1
    # When the next command runs, recovery undoes the dead transaction
    code, out = plugins_process(project, "install", "example-plugin", "--version", "1.2.0")
    assert code == 0 and "already installed" in json_out_text(out)["message"]
    assert not (plugin_dir / "cache" / "example-plugin" / "1.3.0").exists()
    assert list((plugin_dir / "tmp").iterdir()) == []
    assert index_versions(plugin_dir) == {"1.2.0"}
    # And the update then goes through
    code, out = plugins_process(project, "update", "example-plugin")
    assert code == 0 and active_target(plugin_dir, "example-plugin") == NEW


def json_out_text(out: str) -> dict[str, object]:
    response = json.loads(out)
    assert_response("install", response, 0)
    return response  # type: ignore[no-any-return]


@pytest.mark.usefixtures("at_old")
def test_crash_after_the_link_swap_is_undone_by_recovery(project: Path,
                                                        plugin_dir: Path) -> None:
    code, _ = plugins_process(project, "update", "example-plugin", fault="activate:exit")
    assert code == CRASH_EXIT_CODE
    # The link already points at the new version, but nothing committed it
    assert active_target(plugin_dir, "example-plugin") == NEW
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.2.0"
    code, _ = plugins_process(project, "update", "example-plugin", "--check-only")
    assert code == 0  # a read-only command does not recover (it takes no lock)
    assert active_target(plugin_dir, "example-plugin") == NEW
    code, _ = plugins_process(project, "install", "another-plugin")
    assert code == 0
    assert active_target(plugin_dir, "example-plugin") == OLD
    assert not (plugin_dir / "cache" / "example-plugin" / "1.3.0").exists()


@pytest.mark.usefixtures("at_old")
def test_crash_after_commit_is_finished_by_recovery(project: Path, plugin_dir: Path) -> None:
    code, _ = plugins_process(project, "update", "example-plugin", fault="commit:exit")
    assert code == CRASH_EXIT_CODE
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.3.0"
    assert active_target(plugin_dir, "example-plugin") == NEW
    assert index_versions(plugin_dir) == {"1.2.0"}  # not indexed yet
    code, _ = plugins_process(project, "install", "another-plugin")
    assert code == 0
    assert active_target(plugin_dir, "example-plugin") == NEW
    assert index_versions(plugin_dir) == {"1.2.0", "1.3.0"}
    assert list((plugin_dir / "tmp").iterdir()) == []


@pytest.mark.usefixtures("at_old")
@pytest.mark.parametrize("point", ["promote", "activate"])
def test_failure_in_process_is_undone_at_once(plugins: PluginsCli, plugin_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              point: str) -> None:
    before = snapshot(plugin_dir / "cache") | snapshot(plugin_dir / "plugins")
    monkeypatch.setenv("YELLOW_PLUGINS_TEST_FAULT", f"{point}:raise")
    call = plugins("update", "example-plugin")
    assert call.code == 1 and call.error_code == "ERROR-INST-004"
    assert call.response["error"]["context"]["step"] == point.upper()
    assert "previous state is active" in call.response["error"]["message"]
    assert snapshot(plugin_dir / "cache") | snapshot(plugin_dir / "plugins") == before
    assert registry(plugin_dir)["example-plugin"]["version"] == "1.2.0"
    assert list((plugin_dir / "tmp").iterdir()) == []


@pytest.mark.usefixtures("at_old")
def test_crash_during_a_forced_reinstall_restores_the_active_copy(project: Path,
                                                                  plugin_dir: Path) -> None:
    # Given the active version's folder, with a file only the old copy has
    active = plugin_dir / "cache" / "example-plugin" / "1.2.0"
    (active / "only-in-old-copy").write_text("old")
    before = snapshot(plugin_dir / "cache" / "example-plugin")
    # When a forced reinstall dies after swapping the copies in the cache
    code, _ = plugins_process(project, "install", "example-plugin", "--version", "1.2.0",
                              "--force", fault="promote:exit")
    assert code == CRASH_EXIT_CODE
    assert not (active / "only-in-old-copy").exists()  # the new copy is in place
    # Then recovery puts the old copy back
    assert plugins_process(project, "install", "another-plugin")[0] == 0
    assert snapshot(plugin_dir / "cache" / "example-plugin") == before
    assert active_target(plugin_dir, "example-plugin") == OLD


def test_fault_setting_is_validated(plugins: PluginsCli,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YELLOW_PLUGINS_TEST_FAULT", "commit:raise")
    call = plugins("install", "example-plugin")
    assert call.code == 2 and "YELLOW_PLUGINS_TEST_FAULT" in call.response["message"]


def test_stale_transaction_folder_without_journal_is_removed(plugins: PluginsCli,
                                                             plugin_dir: Path) -> None:
    (plugin_dir / "tmp" / "txn-dead" / "root").mkdir(parents=True)
    plugins("install", "example-plugin")
    assert list((plugin_dir / "tmp").iterdir()) == []
