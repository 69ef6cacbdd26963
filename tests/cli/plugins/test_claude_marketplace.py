"""`plugins` against a marketplace in Claude Code's own format (see claude_market.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from domain.marketplace.catalog import load_marketplace
from domain.marketplace.fetch import Fetcher, NetPolicy
from domain.marketplace.fsutil import tree_digest
from domain.marketplace.semver import Version
from tests.cli.plugins.claude_market import claude_market, plugin_folders
from tests.cli.plugins.conftest import PluginsCli, active_target, registry
from tests.support.plugin_market import serve


@pytest.fixture
def claude(tmp_path: Path, plugins: PluginsCli, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = claude_market(tmp_path / "claude-market")
    monkeypatch.setenv("YELLOW_PLUGINS_MARKETPLACE", str(root))
    return root


@pytest.mark.usefixtures("claude")
@pytest.mark.parametrize(("plugin_id", "version"), [
    ("code-review", "1.2.0"),  # plugin.json's version wins over the entry's 1.0.0
    ("session-hooks", "0.3.1"),  # plugin.json gives none: the entry's
    ("skills-pack", "2.0.0"),  # no plugin.json at all
])
def test_install_from_a_claude_code_marketplace(plugins: PluginsCli, plugin_dir: Path,
                                               claude: Path, plugin_id: str,
                                               version: str) -> None:
    call = plugins("install", plugin_id)
    assert call.code == 0, call.out
    assert call.response["message"] == f"Successfully installed {plugin_id}@{version}"
    assert call.data["version"] == version and call.data["installState"] == "active"
    assert active_target(plugin_dir, plugin_id) == f"../cache/{plugin_id}/{version}"
    entry = registry(plugin_dir)[plugin_id]
    # No archive sha256: the tree digest taken at install is the one recorded
    assert entry["sha256"] == tree_digest(claude / "plugins" / plugin_id)
    index = json.loads((plugin_dir / "cache" / "index.json").read_text())
    assert index["entries"][plugin_id][version]["treeDigest"] == entry["sha256"]
    cached = plugin_dir / "cache" / plugin_id / version
    assert (cached / "CHANGELOG.md").exists() or (cached / "README.md").exists()
    # Installing again is a no-op; the cached copy is verified, not fetched
    again = plugins("install", plugin_id)
    assert again.code == 0 and "already installed" in again.response["message"]


@pytest.mark.usefixtures("claude")
def test_permissions_come_from_what_the_plugin_holds(plugins: PluginsCli,
                                                    plugin_dir: Path) -> None:
    for plugin_id in ("code-review", "session-hooks", "skills-pack"):
        assert plugins("install", plugin_id).code == 0
    found = {pid: {p["scope"]: p["reason"] for p in e["permissions"]}
             for pid, e in registry(plugin_dir).items()}
    assert found["code-review"] == {"claude-api": "adds 2 commands, 1 agent"}
    assert found["session-hooks"] == {"shell": "hooks run commands on PreToolUse, SessionStart"}
    assert found["skills-pack"] == {"claude-api": "adds 2 skills"}


@pytest.mark.usefixtures("claude")
@pytest.mark.parametrize(("plugin_id", "code", "words"), [
    ("github-hosted", "ERROR-INST-001", "github source"),
    ("not-listed", "ERROR-DISC-001", "not in the marketplace"),
])
def test_entries_that_cannot_be_installed_say_why(plugins: PluginsCli, plugin_dir: Path,
                                                 plugin_id: str, code: str, words: str) -> None:
    call = plugins("install", plugin_id)
    assert call.code == 1 and call.error_code == code
    assert words in call.response["error"]["message"]
    assert registry(plugin_dir) == {}


def test_update_and_rollback_within_a_claude_code_marketplace(
        plugins: PluginsCli, plugin_dir: Path, claude: Path) -> None:
    assert plugins("install", "code-review").code == 0
    plugin_folders(claude, review_version="1.3.0")  # the author bumps plugin.json
    call = plugins("update", "code-review")
    assert call.code == 0 and call.data["updated"][0]["toVersion"] == "1.3.0"
    (plugin_dir / "flags.json").write_text('{"enableRollback": true}')
    back = plugins("rollback", "code-review")
    assert back.code == 0 and back.data["toVersion"] == "1.2.0"
    assert back.data["cacheSource"] == "cached"
    assert active_target(plugin_dir, "code-review") == "../cache/code-review/1.2.0"


def test_the_marketplace_file_itself_and_a_url(plugins: PluginsCli, claude: Path,
                                               plugin_dir: Path) -> None:
    # Sources resolve from the marketplace root, not from .claude-plugin/
    file = claude / ".claude-plugin" / "marketplace.json"
    assert plugins("install", "skills-pack", "--marketplace", str(file)).code == 0
    with serve(claude) as server:
        url = server.url + "/.claude-plugin/marketplace.json"
        call = plugins("install", "code-review", "--marketplace", url)
        unversioned = plugins("install", "unversioned", "--marketplace", url)
    assert call.code == 1 and call.error_code == "ERROR-INST-001"
    assert "cannot be fetched over HTTP" in call.response["error"]["message"]
    # Over HTTP no folder can be read, so none can be versioned by its content
    assert unversioned.code == 1 and unversioned.error_code == "ERROR-DISC-003"
    assert "has no version" in unversioned.response["error"]["message"]


# ---- unversioned plugins: versioned by content ----------------------------------------------

LOCAL_ONLY = Fetcher(NetPolicy(timeout_s=2.0, retries=0, backoff_base_s=0.0, backoff_cap_s=0.0))
SEMVER_CORE = re.compile(r"^\d+\.\d+\.\d+$")  # what the original schemas accept


def expected_content_version(folder: Path) -> str:
    """The documented rule: 0.0.N, N the first 12 hex digits of the tree digest."""
    return f"0.0.{int(tree_digest(folder)[:12], 16)}"


def test_an_unversioned_plugin_installs_with_its_content_version(
        plugins: PluginsCli, plugin_dir: Path, claude: Path, tmp_path: Path) -> None:
    folder = claude / "plugins" / "unversioned"
    version = expected_content_version(folder)
    assert SEMVER_CORE.match(version)
    assert int(version.split(".")[2]) < 2 ** 53  # exact as a JavaScript number
    call = plugins("install", "unversioned")
    assert call.code == 0, call.out
    assert call.response["message"] == f"Successfully installed unversioned@{version}"
    assert call.data["version"] == version
    assert active_target(plugin_dir, "unversioned") == f"../cache/unversioned/{version}"
    assert registry(plugin_dir)["unversioned"]["sha256"] == tree_digest(folder)
    assert "already installed" in plugins("install", "unversioned").response["message"]
    # Deterministic: another copy of the same marketplace gives the same version
    other = claude_market(tmp_path / "elsewhere")
    assert load_marketplace(str(other), LOCAL_ONLY).plugin("unversioned").latest == version
    assert plugins("install", "unversioned", "--version", version).code == 0


def _change_so_it_sorts_lower(folder: Path, old: str) -> str:
    """Edit the plugin until its content version sorts below the old one: an update must
    not depend on content versions being ordered (they are not)."""
    for n in range(100):
        (folder / "commands" / "hello.md").write_text(f"Say hello, take {n}.\n")
        new = expected_content_version(folder)
        if Version.parse(new) < Version.parse(old):
            return new
    raise AssertionError("no edit gave a lower content version")


def test_update_and_rollback_of_an_unversioned_plugin(plugins: PluginsCli, plugin_dir: Path,
                                                      claude: Path) -> None:
    folder = claude / "plugins" / "unversioned"
    first = expected_content_version(folder)
    assert plugins("install", "unversioned").code == 0
    assert plugins("update", "unversioned").data["upToDate"] == ["unversioned"]
    second = _change_so_it_sorts_lower(folder, first)
    check = plugins("update", "unversioned", "--check-only")
    assert check.code == 0, check.out
    assert check.data["availableUpdates"] == [
        {"pluginId": "unversioned", "currentVersion": first, "latestVersion": second}]
    call = plugins("update", "unversioned")
    assert call.code == 0, call.out
    assert call.data["updated"][0]["fromVersion"] == first
    assert call.data["updated"][0]["toVersion"] == second
    active = plugin_dir / "plugins" / "unversioned"
    assert (active / "commands" / "hello.md").read_text() == \
        (folder / "commands" / "hello.md").read_text()
    assert plugins("update", "unversioned").data["upToDate"] == ["unversioned"]
    (plugin_dir / "flags.json").write_text('{"enableRollback": true}')
    listed = plugins("rollback", "unversioned", "--list-targets")
    assert [t["version"] for t in listed.data["availableTargets"]] == [first]
    back = plugins("rollback", "unversioned")
    assert back.code == 0, back.out
    assert back.data["toVersion"] == first and back.data["cacheSource"] == "cached"
    assert active_target(plugin_dir, "unversioned") == f"../cache/unversioned/{first}"
    assert (active / "commands" / "hello.md").read_text() == "Say hello.\n"
    # The author declares a version at last: an update, as any declared version sorts
    # above content versions
    plugin_json = folder / ".claude-plugin" / "plugin.json"
    plugin_json.write_text(json.dumps({**json.loads(plugin_json.read_text()),
                                       "version": "0.1.0"}))
    declared = plugins("update", "unversioned")
    assert declared.code == 0 and declared.data["updated"][0]["toVersion"] == "0.1.0"
