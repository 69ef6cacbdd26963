"""`plugins`: install, update and roll back plugins from a marketplace (plugin-marketplace.md).

These commands change the local project's plugin folder, so they run in this process:
no queue, no Celery. Every response, errors and usage errors included, is the catalog's
BaseResponse envelope on stdout or in --output. Exit codes (the catalog gives none):
0 success, dry-run or partial; 1 error; 2 bad usage or a request failing its schema.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

from cli.contract import invoke, run_cli
from cli.paths import SafePath
from cli.plugin_envelope import (
    EnvelopeErrors,
    Sink,
    check_output_target,
    output_from_argv,
    read_input,
)
from common.clock import now_iso
from common.errors import ContractError
from domain.marketplace.errors import EXIT_ERROR, EXIT_OK
from domain.marketplace.service import Command, Outcome

SINK = Sink()
ERRORS = EnvelopeErrors(SINK)

ALIASES = {"i": "install", "add": "install", "up": "update", "upgrade": "update",
           "rb": "rollback", "revert": "rollback"}
# Options that build an interactive request; with --input the request comes from the file.
REQUEST_OPTIONS = ("plugin_id", "version", "force", "skip_lifecycle", "consent", "flag",
                   "correlation_id", "node_version", "claude_version", "all_plugins",
                   "check_only", "version_constraint", "list_targets", "cache_preference",
                   "confirmation_token")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class AliasedGroup(click.Group):
    """Commands answer to their aliases too (i/add, up/upgrade, rb/revert)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def resolve_command(self, ctx: click.Context,
                        args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        _, command, rest = super().resolve_command(ctx, args)
        return (command.name if command else None), command, rest


# Without a command: a usage-error envelope ("Missing command"), not the help text.
@click.group(cls=AliasedGroup, no_args_is_help=False,
             context_settings={"help_option_names": ["-h", "--help"]})
def plugins() -> None:
    """Install, update and roll back plugins from a marketplace (JSON envelopes)."""


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--marketplace", metavar="FOLDER|URL",
                     help="Marketplace folder or http(s) URL [YELLOW_PLUGINS_MARKETPLACE]."),
        click.option("--plugin-dir", metavar="DIR", type=SafePath(file_okay=False),
                     help="Plugin folder [YELLOW_PLUGINS_DIR, default ./.claude-plugin]."),
        click.option("--input", "input_file", metavar="FILE|-",
                     help="Read the JSON request from FILE or stdin (automated mode)."),
        click.option("--output", "output_file", metavar="FILE|-",
                     help="Write the JSON response to FILE (default: stdout)."),
        click.option("--dry-run", is_flag=True, help="Check everything, change nothing."),
        click.option("--flag", multiple=True, metavar="NAME=BOOL",
                     help="Feature flag override (repeatable), e.g. enableRollback=true."),
        click.option("--correlation-id", metavar="ID", help="Correlation id to echo."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _intent_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--claude-version", metavar="X.Y.Z",
                        help="Claude Code version (default: `claude --version`).")(func)
    return click.option("--node-version", metavar="X.Y.Z",
                        help="Node.js version (default: `node --version`).")(func)


def _consent_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--consent", multiple=True, metavar="TYPE=sha256:HEX",
                        help="Consent to one lifecycle script by its digest (repeatable).")(func)
    return click.option("--skip-lifecycle", is_flag=True,
                        help="Do not run lifecycle scripts.")(func)


# ---- building the request ---------------------------------------------------------------

def _bool(text: str, option: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise click.UsageError(f"{option} needs a boolean value (true/false), got {text!r}")


def _pairs(values: tuple[str, ...], option: str) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise click.UsageError(f"{option} takes NAME=VALUE, got {value!r}")
        pairs.append((name, rest))
    return pairs


def _interactive_base(params: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {}
    if params.get("correlation_id"):
        request["correlationId"] = params["correlation_id"]
    if params.get("dry_run"):
        request["dryRun"] = True
    if params.get("flag"):
        request["flagOverrides"] = {name: _bool(value, "--flag")
                                    for name, value in _pairs(params["flag"], "--flag")}
    return request


def _intent(params: dict[str, Any]) -> dict[str, Any]:
    from domain.marketplace.host import detect_intent

    return detect_intent(node_version=params.get("node_version"),
                         claude_version=params.get("claude_version"))


def _lifecycle(params: dict[str, Any], request: dict[str, Any]) -> None:
    if params.get("skip_lifecycle"):
        request["skipLifecycle"] = True
    if params.get("consent"):
        request["lifecycleConsent"] = [{"scriptType": kind, "digest": digest,
                                        "consentedAt": now_iso()}
                                       for kind, digest in _pairs(params["consent"], "--consent")]


def _install_request(params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("plugin_id"):
        raise click.UsageError("Missing argument 'PLUGIN_ID'.")
    request = {**_interactive_base(params), "pluginId": params["plugin_id"],
               "compatibilityIntent": _intent(params)}
    if params.get("version"):
        request["version"] = params["version"]
    if params.get("force"):
        request["force"] = True
    _lifecycle(params, request)
    return request


def _update_request(params: dict[str, Any]) -> dict[str, Any]:
    if bool(params.get("plugin_id")) == bool(params.get("all_plugins")):
        raise click.UsageError("give a PLUGIN_ID or --all (not both)")
    request = {**_interactive_base(params), "compatibilityIntent": _intent(params)}
    if params.get("plugin_id"):
        request["pluginId"] = params["plugin_id"]
    else:
        request["all"] = True
    if params.get("check_only"):
        request["checkOnly"] = True
    if params.get("version_constraint"):
        request["versionConstraint"] = params["version_constraint"]
    _lifecycle(params, request)
    return request


def _rollback_request(params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("plugin_id"):
        raise click.UsageError("Missing argument 'PLUGIN_ID'.")
    request = {**_interactive_base(params), "pluginId": params["plugin_id"],
               "cachePreference": params.get("cache_preference") or "cached-only"}
    if params.get("version"):
        request["targetVersion"] = params["version"]
    if params.get("confirmation_token"):
        request["confirmationToken"] = params["confirmation_token"]
    if params.get("list_targets"):
        request["listTargets"] = True
    return request


def _from_input(ctx: click.Context, params: dict[str, Any]) -> Any:
    shown = {"plugin_id": "PLUGIN_ID", "all_plugins": "--all"}
    given = [shown.get(name, f"--{name.replace('_', '-')}") for name in REQUEST_OPTIONS
             if name in params and ctx.get_parameter_source(name) not in
             (ParameterSource.DEFAULT, None)]
    if given:
        raise click.UsageError(f"--input carries the whole request; drop {', '.join(given)}")
    request = read_input(params["input_file"])
    if params.get("dry_run") and isinstance(request, dict):
        request["dryRun"] = True  # --dry-run may be added to a request from a file
    return request


# ---- running a command ------------------------------------------------------------------

def _command(name: str, request: dict[str, Any], params: dict[str, Any]) -> Command:
    from config.plugins import load_plugins_settings
    from domain.marketplace.faults import Faults
    from domain.marketplace.fetch import Fetcher, NetPolicy
    from domain.marketplace.layout import PluginLayout
    from domain.marketplace.runtime import Runtime
    from domain.marketplace.service import new_correlation_id, new_transaction_id

    settings = load_plugins_settings()
    SINK.home = settings.home
    dry_run = bool(request.get("dryRun"))
    runtime = Runtime(
        layout=PluginLayout(_plugin_dir(str(params.get("plugin_dir") or settings.plugin_dir))),
        settings=settings,
        fetcher=Fetcher(NetPolicy(timeout_s=settings.net_timeout_s, retries=settings.net_retries,
                                  backoff_base_s=settings.net_backoff_base_s,
                                  backoff_cap_s=settings.net_backoff_cap_s)),
        faults=Faults(settings.test_fault))
    cmd = Command(name=name, tx_id=new_transaction_id(dry_run=dry_run),
                  correlation_id=SINK.correlation_id or new_correlation_id(), dry_run=dry_run,
                  runtime=runtime, marketplace_location=params.get("marketplace")
                  or settings.marketplace, flag_overrides=request.get("flagOverrides", {}),
                  telemetry_context=request.get("telemetryContext", {}), started=SINK.started)
    SINK.transaction_id, SINK.correlation_id = cmd.tx_id, cmd.correlation_id
    return cmd


# Linux limits: one name (bytes), a whole path.
NAME_MAX, PATH_MAX = 255, 4096


def _plugin_dir(raw: str) -> Path:
    """The plugin folder; a path no file system can hold is refused before any work (it
    would otherwise fail half-way, when the first file is written)."""
    encoded = os.fsencode(raw)
    if len(encoded) >= PATH_MAX or any(len(part) > NAME_MAX for part in encoded.split(b"/")):
        raise click.UsageError(f"the plugin folder {raw[:80]!r}... is not a usable path: "
                               f"a name or the path is too long")
    return Path(raw)


def _run(name: str, params: dict[str, Any], build: Callable[[dict[str, Any]], dict[str, Any]],
         handle: Callable[[dict[str, Any], Command], Outcome]) -> int:
    from cli.plugin_schema import validate_request
    from domain.marketplace.service import execute

    ctx = click.get_current_context()
    SINK.command = name
    SINK.output = params.get("output_file")
    try:
        check_output_target(SINK.output)
    except ContractError:
        SINK.output = None  # the error itself goes to stdout
        raise
    request = _from_input(ctx, params) if params.get("input_file") else build(params)
    if isinstance(request, dict):
        SINK.echo_correlation(request.get("correlationId"))
    validate_request(name, request)
    cmd = _command(name, request, params)
    try:
        outcome = execute(cmd, lambda c: handle(request, c), mutating=_mutates(request))
    except ContractError as error:
        error.details.setdefault("telemetry", cmd.metrics())
        raise
    response = SINK.envelope(status=outcome.status, message=outcome.message, data=outcome.data,
                             telemetry=outcome.telemetry)
    return EXIT_OK if SINK.emit(response) else EXIT_ERROR


def _mutates(request: dict[str, Any]) -> bool:
    return not (request.get("checkOnly") or request.get("listTargets"))


def _install(request: dict[str, Any], cmd: Command) -> Outcome:
    from domain.marketplace.install import install
    from domain.marketplace.requests import install_request

    return install(install_request(request), cmd)


def _update(request: dict[str, Any], cmd: Command) -> Outcome:
    from domain.marketplace.requests import update_request
    from domain.marketplace.update import update

    return update(update_request(request), cmd)


def _rollback_with(params: dict[str, Any]) -> Callable[[dict[str, Any], Command], Outcome]:
    """rollback, checked against this machine as install is (its request has no intent)."""
    def handle(request: dict[str, Any], cmd: Command) -> Outcome:
        from domain.marketplace.requests import rollback_request
        from domain.marketplace.rollback import rollback

        return rollback(rollback_request(request, _intent(params)), cmd)
    return handle


# ---- the commands -----------------------------------------------------------------------

@plugins.command("install")
@click.argument("plugin_id", required=False)
@click.option("--version", metavar="X.Y.Z|latest", help="Version to install (default latest).")
@click.option("--force", is_flag=True, help="Reinstall even if this version is active.")
@_consent_options
@_intent_options
@_common
def install_command(**params: Any) -> int:
    """Install a plugin version and make it active (aliases: i, add)."""
    return _run("install", params, _install_request, _install)


@plugins.command("update")
@click.argument("plugin_id", required=False)
@click.option("--all", "all_plugins", is_flag=True, help="Update every installed plugin.")
@click.option("--check-only", is_flag=True, help="Only list the available updates.")
@click.option("--version-constraint", metavar="RANGE",
              help="npm-style range the new version must satisfy (^1.2, ~1.2.3, >=1 <2).")
@_consent_options
@_intent_options
@_common
def update_command(**params: Any) -> int:
    """Update one plugin or all of them (aliases: up, upgrade)."""
    return _run("update", params, _update_request, _update)


@plugins.command("rollback")
@click.argument("plugin_id", required=False)
@click.option("--version", metavar="X.Y.Z", help="Version to roll back to (default: the "
              "previous one).")
@click.option("--list-targets", is_flag=True, help="List the versions to roll back to.")
@click.option("--cache-preference", type=click.Choice(["cached-only", "download-if-missing"]),
              default="cached-only", show_default=True)
@click.option("--confirmation-token", metavar="TOKEN", help="Recorded in the checkpoint.")
@_intent_options
@_common
def rollback_command(**params: Any) -> int:
    """Make an earlier version active again (aliases: rb, revert)."""
    return _run("rollback", params, _rollback_request, _rollback_with(params))


def invoke_plugins(args: Sequence[str]) -> int:
    """One call of the CLI in this process (what tests use); returns the exit code."""
    SINK.reset(output=output_from_argv(args))
    return invoke(plugins, ERRORS, args, prog_name="plugins")


def main() -> None:
    # Logging is the shared CLI machinery's business (cli.contract), as for every CLI.
    args = sys.argv[1:]
    SINK.reset(output=output_from_argv(args))
    run_cli(plugins, ERRORS, args, prog_name="plugins")


if __name__ == "__main__":
    main()
