"""`plugins` with generated bad input: every answer is a schema-valid envelope, the plugin
folder stays consistent.

plugin-marketplace.md: every response is the BaseResponse envelope (validated here with
api/cli-contracts/<command>.json's response definition); docs/plugins.md: exit 0 for
success, dry-run and partial, 1 for an error, 2 for bad usage, each error code with its
exit code; ERR-*-099 (internal) never answers bad input. An error or a dry run leaves
the plugin folder as it was (only the telemetry log grows); a success leaves
registry.json, the cache and the activation links agreeing with each other.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cli.plugin_schema import check
from cli.plugins import ALIASES, invoke_plugins
from domain.marketplace.errors import CODES
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.rest_support import (
    FILE_KINDS,
    Result,
    command_line,
    hostile_text,
    json_bytes,
    make_hostile_file,
    mostly,
    mutated_json,
    nasty_lines,
    one_bad_option,
    run_cli_in_process,
    sandboxed,
    tree_state,
)
from tests.support.plugin_market import standard_market

NODE = "20.10.0"
INTERNAL = ("ERR-INSTALL-099", "ERR-UPDATE-099", "ERR-ROLLBACK-099")
COMMANDS = {"install": ("install", "i", "add"), "update": ("update", "up", "upgrade"),
            "rollback": ("rollback", "rb", "revert")}
PLUGIN_IDS = ("example-plugin", "another-plugin", "stable-plugin", "incompatible-plugin",
              "windows-plugin", "no-such-plugin")
HELP = ("--help", "-h")
REQUESTS: dict[str, dict[str, Any]] = {
    "install": {"pluginId": "example-plugin", "version": "1.2.3", "force": False,
                "dryRun": False, "correlationId": "req-install-20260111-001",
                "compatibilityIntent": {"nodeVersion": NODE, "os": "linux", "arch": "x64",
                                        "claudeVersion": "2.5.0"},
                "telemetryContext": {"sessionId": "sess-12345", "gitCommit": "abc123def",
                                     "tags": {"environment": "ci"}},
                "flagOverrides": {"enableRollback": True},
                "lifecycleConsent": [{"scriptType": "postInstall",
                                      "digest": "sha256:" + "ab" * 32,
                                      "consentedAt": "2026-01-11T10:00:00Z"}]},
    "update": {"all": True, "checkOnly": False, "dryRun": False,
               "correlationId": "req-update-20260111-002", "versionConstraint": "^1.2",
               "compatibilityIntent": {"nodeVersion": NODE, "os": "linux", "arch": "x64"}},
    "rollback": {"pluginId": "example-plugin", "targetVersion": "1.2.0",
                 "cachePreference": "cached-only", "confirmationToken": "user-confirmed",
                 "dryRun": False, "correlationId": "req-rollback-20260111-003",
                 "flagOverrides": {"enableRollback": True}, "listTargets": False},
}


@dataclass(frozen=True)
class Project:
    root: Path
    cwd: Path
    market: Path

    @property
    def plugin_dir(self) -> Path:
        return self.cwd / ".claude-plugin"


Plugins = Callable[..., Result]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project folder (deep enough that '../..' stays in the test's folder) and the test
    marketplace, with one plugin installed at two versions (so rollback has a target)."""
    cwd = tmp_path / "a" / "b" / "project"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # "~" and defaults stay in here
    market = standard_market(tmp_path / "market").root
    monkeypatch.setenv("YELLOW_PLUGINS_MARKETPLACE", str(market))
    monkeypatch.setenv("YELLOW_PLUGINS_NET_RETRIES", "0")
    # The interactive intent probes `node --version` (0.2 s a call): pinned, as the other
    # plugins CLI tests do; automated requests carry their own intent.
    monkeypatch.setattr("domain.marketplace.host._version_of",
                        lambda program: NODE if program == "node" else None)
    return Project(tmp_path, cwd, market)


@pytest.fixture
def plugins(conveyor_home: Path, project: Project, monkeypatch: pytest.MonkeyPatch) -> Plugins:
    def run(*args: str, stdin: bytes = b"") -> Result:
        return run_cli_in_process(lambda: invoke_plugins(list(args)), home=conveyor_home,
                                  stdin=stdin)

    for version in ("1.2.0", "1.2.3"):
        done = run("install", "example-plugin", "--version", version)
        assert done.code == 0, done.describe()
    shutil.copytree(project.plugin_dir, project.root / "pristine", symlinks=True)
    return run


def reset(project: Project) -> None:
    """The plugin folder as the fixture left it (two installs of example-plugin)."""
    shutil.rmtree(project.plugin_dir)
    shutil.copytree(project.root / "pristine", project.plugin_dir, symlinks=True)


def command_of(args: list[str] | tuple[str, ...]) -> str:
    for arg in args:
        if not arg.startswith("-"):
            name = ALIASES.get(arg, arg)
            return name if name in COMMANDS else "install"
    return "install"


def response_of(result: Result, args: list[str] | tuple[str, ...],
                output: Path | None = None) -> dict[str, Any]:
    """The envelope (stdout, or the --output file), valid against its command's schema."""
    text = result.out
    if output is not None and not text:
        text = output.read_text(encoding="utf-8")
    response = json.loads(text)
    command = command_of(args)
    problem = check(command, "response", response)
    assert problem is None, f"{problem.details['context'] if problem else ''}\n" \
                            f"{json.dumps(response, indent=2)[:3000]}"
    if response["status"] == "error":
        code = response["error"]["code"]
        assert code not in INTERNAL, result.describe()
        assert result.code == CODES[code].exit_code, result.describe()
    else:
        assert result.code == 0, result.describe()
    return response  # type: ignore[no-any-return]


def is_help(result: Result, args: list[str] | tuple[str, ...]) -> bool:
    if result.code == 0 and list(args) == ["--version"]:  # every console script has it
        return result.out.startswith("plugins, version")
    return result.code == 0 and any(a in HELP for a in args) and result.out.startswith("Usage:")


def folder_state(project: Project) -> dict[str, Any]:
    """The plugin folder but its telemetry log and lock file (every command may touch them)."""
    return tree_state(project.plugin_dir, skip=lambda rel: rel.startswith(("logs", ".lock")))


def assert_consistent(project: Project) -> None:
    """registry.json, the cache, the links: every active plugin is linked to its cached
    version, every link belongs to an active plugin, no transaction is left in tmp/."""
    plugin_dir = project.plugin_dir
    registry = json.loads((plugin_dir / "registry.json").read_text())["plugins"]
    links = {p.name: os.readlink(p) for p in (plugin_dir / "plugins").iterdir()}
    assert set(links) == set(registry), (links, registry)
    for plugin_id, entry in registry.items():
        assert links[plugin_id] == f"../cache/{plugin_id}/{entry['version']}"
        assert (plugin_dir / "cache" / plugin_id / entry["version"] / "plugin.json").is_file()
        assert [h["version"] for h in entry["history"]][-1] == entry["version"]
    leftovers = list((plugin_dir / "tmp").iterdir()) if (plugin_dir / "tmp").exists() else []
    assert leftovers == [], leftovers


# ---- interactive commands -------------------------------------------------------------------

def _safe_location(text: str) -> bool:
    """Hostile paths and URLs stay inside the test: relative paths (no deeper up than the
    test's folder) and no host name to look up."""
    return not text.startswith("/") and text.split("/").count("..") < 3 and \
        "://" not in text


def interactive_options(project: Project) -> dict[str, st.SearchStrategy[str]]:
    files = st.sampled_from(FILE_KINDS).map(lambda k: make_hostile_file(project.root / "in", k))
    places = st.one_of(files, hostile_text().filter(_safe_location))
    flags = st.one_of(
        st.sampled_from(["enableRollback=true", "enableRollback=false",
                         "strictCompatibility=yes", "enableCompatibilityChecks=0"]),
        st.tuples(hostile_text(), hostile_text()).map(lambda p: "=".join(p)), hostile_text())
    return {
        "--version": mostly(st.sampled_from(["1.2.3", "1.0.0", "latest", "9.9.9"]),
                            hostile_text()),
        "--marketplace": mostly(st.just(str(project.market)), st.one_of(
            places, st.sampled_from(["http://127.0.0.1:1/market", "file:///etc",
                                     "ftp://x/y"]))),
        "--plugin-dir": mostly(st.just(".claude-plugin"), places),
        "--flag": mostly(st.just("enableRollback=true"), flags),
        "--correlation-id": hostile_text(),
        "--consent": st.one_of(hostile_text(), st.sampled_from(
            ["postInstall=sha256:" + "a" * 64, "preInstall=", "=x", "postInstall=sha256:zz"])),
        "--node-version": mostly(st.just(NODE), hostile_text()),
        "--claude-version": mostly(st.just("2.5.0"), hostile_text()),
        "--version-constraint": mostly(st.sampled_from(["^1.2", ">=1 <2", "*"]),
                                       hostile_text()),
        "--cache-preference": mostly(st.sampled_from(["cached-only", "download-if-missing"]),
                                     hostile_text()),
        "--confirmation-token": hostile_text(),
        "--output": mostly(st.just("-"), places),
    }


def _changed_only_as_allowed(project: Project, before: dict[str, Any], result: Result,
                             response: dict[str, Any]) -> None:
    if response["status"] in ("error", "dry-run") or response["telemetry"].get(
            "registryMutations", 0) == 0:
        assert folder_state(project) == before, result.describe()
    else:
        assert_consistent(project)


@fuzz_settings(150)
@given(data=st.data())
def test_interactive_commands_answer_with_envelopes(plugins: Plugins, project: Project,
                                                    data: st.DataObject) -> None:
    # Given: any command (aliases included) with any options
    name = data.draw(st.sampled_from(sorted(COMMANDS)))
    alias = data.draw(st.sampled_from(COMMANDS[name]))
    args = [alias, *data.draw(command_line(
        interactive_options(project),
        flags=["--force", "--dry-run", "--skip-lifecycle", "--all", "--check-only",
               "--list-targets"],
        positionals=[mostly(st.sampled_from(PLUGIN_IDS), hostile_text())]))]
    before = folder_state(project)
    # When
    result = plugins(*args)
    # Then
    if is_help(result, args):
        return
    output = _output_file(args)
    response = response_of(result, args, output)
    if Path(project.plugin_dir).exists():
        _changed_only_as_allowed(project, before, result, response)


def _output_file(args: list[str]) -> Path | None:
    values = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--output"]
    value = values[-1] if values else None
    if value in (None, "-"):
        return None
    try:
        return Path(value) if Path(value).is_file() else None
    except (OSError, ValueError):  # a name too long, a NUL byte: the CLI used stdout
        return None


@fuzz_settings(100)
@given(data=st.data())
def test_each_install_option_alone_is_checked(plugins: Plugins, project: Project,
                                              data: st.DataObject) -> None:
    # Given: a valid install with one option bad or missing
    valid = {"--version": "1.2.3", "--marketplace": str(project.market),
             "--plugin-dir": ".claude-plugin", "--flag": "enableRollback=true",
             "--correlation-id": "corr-1", "--node-version": NODE, "--claude-version": "2.5.0",
             "--consent": "postInstall=sha256:" + "a" * 64}
    options = interactive_options(project)
    bad = {name: options[name] for name in valid}
    args = ["install", "example-plugin", *data.draw(one_bad_option(valid, bad))]
    before = folder_state(project)
    # When
    result = plugins(*args)
    # Then
    response = response_of(result, args, _output_file(args))
    _changed_only_as_allowed(project, before, result, response)


# (template, whether absolute values may go there): a plugin folder or an --output file
# never gets "/" or "/etc/passwd".
NASTY_POSITIONS = [
    (["install", "{X}"], True), (["install", "example-plugin", "--version", "{X}"], True),
    (["install", "stable-plugin", "--marketplace", "{X}"], True),
    (["install", "stable-plugin", "--plugin-dir", "{X}"], False),
    (["install", "stable-plugin", "--flag", "{X}"], True),
    (["install", "stable-plugin", "--correlation-id", "{X}"], True),
    (["install", "stable-plugin", "--consent", "{X}"], True),
    (["install", "stable-plugin", "--node-version", "{X}", "--dry-run"], True),
    (["install", "stable-plugin", "--claude-version", "{X}", "--dry-run"], True),
    (["install", "--input", "{X}"], True),
    (["install", "example-plugin", "--version", "1.2.3", "--output", "{X}"], False),
    (["update", "{X}", "--check-only"], True),
    (["update", "--all", "--version-constraint", "{X}", "--check-only"], True),
    (["rollback", "{X}", "--list-targets", "--flag", "enableRollback=true"], True),
    (["rollback", "example-plugin", "--cache-preference", "{X}", "--dry-run"], True),
    (["rollback", "example-plugin", "--version", "{X}", "--flag", "enableRollback=true",
      "--dry-run"], True),
    (["rollback", "example-plugin", "--confirmation-token", "{X}", "--dry-run"], True),
    (["{X}"], True),
]


@pytest.mark.parametrize(("template", "absolute"), NASTY_POSITIONS,
                         ids=lambda v: "-".join(a.strip("-{}") for a in v)
                         if isinstance(v, list) else "")
def test_every_nasty_string_in_every_position(plugins: Plugins, project: Project,
                                              template: list[str], absolute: bool) -> None:
    for args in nasty_lines(template, absolute=absolute):
        before = folder_state(project)
        result = plugins(*args)
        if is_help(result, args):
            continue
        response = response_of(result, args, _output_file(args))
        _changed_only_as_allowed(project, before, result, response)
        if response["status"] not in ("error", "dry-run"):
            reset(project)


# ---- automated requests ---------------------------------------------------------------------

@fuzz_settings(150)
@given(data=st.data())
def test_json_requests_with_wrong_types_anywhere(plugins: Plugins, project: Project,
                                                 data: st.DataObject) -> None:
    # Given: the catalog's request examples with one value of the wrong type (or odd text,
    # lone surrogates in \u escapes), a key dropped or added; from a file or stdin
    name = data.draw(st.sampled_from(sorted(REQUESTS)))
    request = data.draw(mutated_json(REQUESTS[name]))
    raw = json_bytes(request)
    cut = data.draw(st.sampled_from([None, None, None, None, 1, 9]))
    raw = raw if cut is None else raw[:-cut]
    via_stdin = data.draw(st.booleans())
    path = project.root / "request.json"
    path.write_bytes(raw)
    args = [data.draw(st.sampled_from(COMMANDS[name])), "--input",
            "-" if via_stdin else str(path),
            *(["--dry-run"] if data.draw(st.booleans()) else [])]
    before = folder_state(project)
    # When
    result = plugins(*args, stdin=raw if via_stdin else b"")
    # Then: a schema error names the rule; whatever passes the schema is answered properly
    response = response_of(result, args)
    if cut is not None:
        assert response["error"]["code"] == "ERROR-SCHEMA-003", response
    _changed_only_as_allowed(project, before, result, response)


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_every_kind_of_bad_input_file(plugins: Plugins, project: Project, kind: str) -> None:
    path = make_hostile_file(project.root / "in", kind, valid=json.dumps(REQUESTS["install"])
                             .encode())
    before = folder_state(project)
    result = plugins("install", "--input", path)
    response = response_of(result, ["install"])
    assert response["status"] == "error" or kind in ("symlink_outside", "unreadable"), response
    assert folder_state(project) == before


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_every_kind_of_bad_output_target(plugins: Plugins, project: Project, kind: str) -> None:
    # Given: --output pointing at something odd (never outside the test's folder)
    target = make_hostile_file(project.root / "out", kind)
    if kind in ("symlink_outside", "dev_null"):
        target = str(project.root / "out" / "hostile-elsewhere-link")
        Path(target).unlink(missing_ok=True)
        Path(target).symlink_to(project.root / "out" / "elsewhere.json")
    before = folder_state(project)
    # When
    result = plugins("install", "example-plugin", "--version", "1.2.3", "--output", target)
    # Then: the envelope is somewhere (the file, else stdout) and nothing was installed
    response = response_of(result, ["install"], _output_file(["--output", target]))
    assert response["status"] in ("success", "error"), response
    assert folder_state(project) == before  # 1.2.3 was active: no change either way


# ---- hostile stores: registry.json, flags.json, marketplace.json ----------------------------

@fuzz_settings(120)
@given(data=st.data())
def test_a_damaged_registry_or_cache_index_is_reported_not_trusted(
        plugins: Plugins, project: Project, data: st.DataObject) -> None:
    # Given: registry.json or cache/index.json with wrong types at any level (or cut short,
    # or not JSON); the documents come from the fixture's pristine copy
    name = data.draw(st.sampled_from(["registry.json", "cache/index.json"]))
    original = (project.root / "pristine" / name).read_bytes()
    damaged = data.draw(st.one_of(
        mutated_json(json.loads(original)).map(json_bytes),
        st.sampled_from([b"", b"{", b"\xff\xfe", b"[" * 100_000, original[:-3]])))
    (project.plugin_dir / name).write_bytes(damaged)
    args = data.draw(st.sampled_from([
        ["install", "example-plugin", "--version", "1.3.0"], ["install", "another-plugin"],
        ["install", "example-plugin", "--version", "1.2.0"],
        ["update", "--all"], ["update", "example-plugin", "--check-only"],
        ["rollback", "example-plugin", "--flag", "enableRollback=true"],
        ["rollback", "example-plugin", "--list-targets", "--flag", "enableRollback=true"],
        ["install", "example-plugin", "--dry-run"]]))
    before = folder_state(project)
    try:
        # When
        result = plugins(*args)
        # Then: an envelope; a registry it cannot use is left for a person to repair, and
        # one it accepted must describe the folder as it is
        response = response_of(result, args)
        if response["status"] == "error":
            assert folder_state(project) == before, result.describe()
        elif response["telemetry"].get("registryMutations", 0) > 0:
            assert_consistent(project)
    finally:
        reset(project)


@pytest.mark.parametrize("kind", ["empty", "non_utf8", "truncated_json", "json_array",
                                  "json_scalar", "directory", "deep_nesting", "wrong_types"])
def test_a_damaged_flags_file_is_a_usage_error(plugins: Plugins, project: Project,
                                               kind: str) -> None:
    path = project.plugin_dir / "flags.json"
    if kind == "wrong_types":
        path.write_text(json.dumps({"enableRollback": "yes", "enableBrowse": [1]}))
    else:
        made = Path(make_hostile_file(project.plugin_dir, kind, valid=b'{"enableRollback":true}'))
        made.rename(path)
    before = folder_state(project)
    for args in (["install", "another-plugin"], ["rollback", "example-plugin"],
                 ["update", "--all", "--check-only"]):
        result = plugins(*args)
        response = response_of(result, args)
        assert response["status"] == "error", response
        assert folder_state(project) == before


@fuzz_settings(100)
@given(data=st.data())
def test_a_hostile_marketplace_is_refused_cleanly(plugins: Plugins, project: Project,
                                                  data: st.DataObject) -> None:
    # Given: a copy of the marketplace whose marketplace.json has wrong types anywhere
    market = project.root / "market-copy"
    shutil.rmtree(market, ignore_errors=True)
    shutil.copytree(project.market, market, symlinks=True)
    document = json.loads((project.market / "marketplace.json").read_text())
    (market / "marketplace.json").write_bytes(json_bytes(data.draw(mutated_json(document))))
    args = [*data.draw(st.sampled_from([["install", "another-plugin"],
                                        ["install", "example-plugin", "--version", "1.3.0"],
                                        ["update", "--all"], ["update", "--all", "--check-only"],
                                        ["install", "stable-plugin", "--dry-run"]])),
            "--marketplace", str(market)]
    before = folder_state(project)
    # When
    result = plugins(*args)
    # Then
    response = response_of(result, args)
    _changed_only_as_allowed(project, before, result, response)
    reset(project)


# ---- usage errors ---------------------------------------------------------------------------

@fuzz_settings(60)
@given(args=command_line({}, flags=["--help-me", "--all"], positionals=[
    st.one_of(st.sampled_from([a for names in COMMANDS.values() for a in names]),
              hostile_text()), hostile_text(), hostile_text()]))
def test_unknown_commands_and_stray_words(plugins: Plugins, project: Project,
                                          args: list[str]) -> None:
    before = folder_state(project)
    result = plugins(*args)
    if is_help(result, args):
        return
    response_of(result, args, _output_file(args))
    assert folder_state(project) == before or result.code == 0


@fuzz_settings(40)
@given(name=st.sampled_from(["YELLOW_PLUGINS_MAX_FILES", "YELLOW_PLUGINS_NET_TIMEOUT_S",
                             "YELLOW_PLUGINS_ENABLE_ROLLBACK", "YELLOW_PLUGINS_CACHE_MAX_MB",
                             "YELLOW_PLUGINS_LOCK_TIMEOUT_S", "YELLOW_PLUGINS_TEST_FAULT",
                             "YELLOW_PLUGINS_DIR", "YELLOW_PLUGINS_BACKUPS_KEEP"]),
       value=hostile_text().filter(lambda v: sandboxed(v) and _safe_location(v)))
def test_odd_settings_are_usage_errors_or_work(plugins: Plugins, project: Project,
                                              monkeypatch: pytest.MonkeyPatch, name: str,
                                              value: str) -> None:
    args = ["install", "another-plugin", "--dry-run"]
    before = folder_state(project)
    with monkeypatch.context() as env:
        env.setenv(name, value)
        result = plugins(*args)
    response_of(result, args)
    assert folder_state(project) == before

