"""`synora`: quarantine an installed package's files, restore them, keep the registry.

It works on this machine's files, so it runs in its own process: no queue, no Celery.
"""

from __future__ import annotations

import sys

import click

from cli.contract import record_crash, run_cli
from cli.synora_output import (
    SynoraErrorFormat,
    print_outcome,
    print_package,
    print_packages,
    wants_json,
)
from config.synora import RISK_LEVELS, SynoraSettings, load_synora_settings
from domain.synora.outcome import Outcome

json_option = click.option("--json", "json_mode", is_flag=True,
                           help="Machine-readable JSON output (errors too).")
verbose_option = click.option("--verbose", is_flag=True,
                              help="Text mode diagnostics (ignored with --json).")


def _finish(outcome: Outcome, json_mode: bool, verbose: bool) -> int:
    if outcome.unexpected is not None:
        where = record_crash("synora", outcome.unexpected)
        outcome.message += f"; details in {where}"
    print_outcome(outcome, json_mode=json_mode, verbose=verbose)
    return outcome.exit_code


def _settings() -> SynoraSettings:
    return load_synora_settings()


def _ensure_home_writable(settings: SynoraSettings) -> None:
    """A read-only SYNORA_HOME is a usage error (exit 2), a full one STORE_FAILED (exit 4,
    reason disk_full), each naming the path and the OS error: without this a full disk
    is only the database's "database or disk is full", with no path."""
    from cli.state_errors import ensure_state_folder_writable

    ensure_state_folder_writable(settings.home, "SYNORA_HOME")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def synora() -> None:
    """Synora: quarantine installed software, with an audit trail and rollback."""


@synora.group("cleanup")
def cleanup_group() -> None:
    """Move a package's files into quarantine, or bring them back."""


@cleanup_group.command("quarantine")
@click.option("--id", "package_id", required=True, help="The package id, e.g. Git.Git.")
@click.option("--dry-run", "dry_run", is_flag=True, help="Plan only (the default).")
@click.option("--confirm", is_flag=True, help="Really move the files.")
@click.option("--risk", type=click.Choice(RISK_LEVELS),
              help="Risk of this action (never below the package's registered risk).")
@json_option
@verbose_option
def quarantine_command(package_id: str, dry_run: bool, confirm: bool, risk: str | None,
                       json_mode: bool, verbose: bool) -> int:
    """Quarantine a package: a dry run by default, the real move with --confirm."""
    from domain.synora.quarantine import QuarantineRequest, quarantine

    if dry_run and confirm:
        raise click.UsageError("--dry-run and --confirm are mutually exclusive")
    request = QuarantineRequest(package_id=package_id, confirm=confirm, risk=risk)
    return _finish(quarantine(request, _settings()), json_mode, verbose)


@cleanup_group.command("restore")
@click.option("--operation-id", "operation_id", required=True,
              help="The operation_id a confirmed quarantine printed.")
@json_option
@verbose_option
def restore_command(operation_id: str, json_mode: bool, verbose: bool) -> int:
    """Put a quarantined package's files back where they were."""
    from domain.synora.restore import restore

    return _finish(restore(operation_id, _settings()), json_mode, verbose)


@synora.group("package")
def package_group() -> None:
    """The registry of installed software Synora manages."""


@package_group.command("add")
@click.option("--id", "package_id", required=True, help="Package id, e.g. Git.Git.")
@click.option("--name", required=True)
@click.option("--version", "version", required=True)
@click.option("--install-path", "install_path", required=True,
              help="Absolute path of the package's folder.")
@click.option("--source", default="local", show_default=True,
              help="Where it came from (winget, apt, local...).")
@click.option("--risk", type=click.Choice(RISK_LEVELS), default="medium", show_default=True)
@json_option
def package_add_command(package_id: str, name: str, version: str, install_path: str,
                        source: str, risk: str, json_mode: bool) -> None:
    """Register an installed package."""
    from domain.synora.failures import store_failures
    from domain.synora.registry import PackageSpec, add_package

    spec = PackageSpec(id=package_id, name=name, version=version, install_path=install_path,
                       source=source, risk_level=risk)
    settings = _settings()
    _ensure_home_writable(settings)
    with store_failures():
        package = add_package(settings.db_path, spec)
    print_package(package, json_mode=json_mode)


@package_group.command("list")
@click.option("--status", type=click.Choice(("installed", "quarantined", "rollback_failed")))
@json_option
def package_list_command(status: str | None, json_mode: bool) -> None:
    """List registered packages."""
    from domain.synora.failures import store_failures
    from domain.synora.registry import list_packages

    with store_failures():
        packages = list_packages(_settings().db_path, status)
    print_packages(packages, json_mode=json_mode)


@package_group.command("show")
@click.option("--id", "package_id", required=True)
@json_option
def package_show_command(package_id: str, json_mode: bool) -> None:
    """Show one registered package."""
    from domain.synora.failures import store_failures
    from domain.synora.registry import show_package

    with store_failures():
        package = show_package(_settings().db_path, package_id)
    print_package(package, json_mode=json_mode)


def main() -> None:
    args = sys.argv[1:]
    run_cli(synora, SynoraErrorFormat(json_mode=wants_json(args)), args, prog_name="synora")
