"""How `synora` prints: its error format, operation outcomes, and registry entries.

JSON mode (--json anywhere before a `--`) is decided from the raw arguments, so even
click's own usage errors come out as JSON when the caller asked for JSON.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import click

from cli.output import emit_json, printable
from common.errors import ContractError, JobSystemError
from domain.synora.errors import (
    EXIT_INTERNAL,
    EXIT_RUNTIME,
    EXIT_USAGE,
    INTERNAL_ERROR,
    STORE_FAILED,
    USAGE_ERROR,
)
from domain.synora.outcome import Outcome


def wants_json(args: Sequence[str]) -> bool:
    options = list(args)
    if "--" in options:
        options = options[:options.index("--")]
    return "--json" in options


@dataclass(frozen=True)
class SynoraErrorFormat:
    """Errors without an operation: JSON or one text line on stderr; exit 2, 3, 4 or 10."""

    json_mode: bool

    def render(self, error: ContractError) -> None:
        if self.json_mode:
            emit_json({"error": True, "code": error.code, "message": error.message,
                       "details": error.details}, pretty=True, stream=sys.stderr)
        else:
            sys.stderr.write(f"synora: error: {one_line(error.message)}\n")
            sys.stderr.flush()

    def usage_error(self, message: str) -> ContractError:
        return ContractError(USAGE_ERROR, message, {}, EXIT_USAGE)

    def system_error(self, error: JobSystemError) -> ContractError:
        return ContractError(STORE_FAILED, error.message, {"reason": error.reason, **error.details},
                             EXIT_RUNTIME)

    def internal_error(self, message: str) -> ContractError:
        return ContractError(INTERNAL_ERROR, message, {}, EXIT_INTERNAL)


def one_line(text: str) -> str:
    """The text mode's error is one line: line breaks (click's "Choose from:\\n\\t...", a
    name given with a newline) become single spaces, other controls are escaped."""
    return printable(re.sub(r"\s*[\r\n]+\s*", " ", text).strip())


def _flag(value: bool) -> str:
    return "true" if value else "false"


def print_outcome(outcome: Outcome, *, json_mode: bool, verbose: bool) -> None:
    """The contract's output on stdout, whatever the ending (the exit code tells which)."""
    if json_mode:
        emit_json(outcome.to_json(), pretty=True)
        return
    lines = [f"operation_id: {outcome.operation_id}", f"status: {outcome.status}",
             f"rollback_status: {outcome.rollback_status}",
             f"message: {printable(outcome.message)}"]
    if outcome.error_code:
        lines.append(f"error_code: {outcome.error_code}")
    if verbose:
        lines += [f"precheck_paths: {printable(', '.join(outcome.precheck_paths) or '-')}",
                  f"mutation_boundary_reached: {_flag(outcome.mutation_boundary_reached)}",
                  f"audit_rows_written: {outcome.audit_rows_written}"]
    click.echo("\n".join(lines))


PACKAGE_FIELDS = ("id", "name", "version", "source", "install_path", "risk_level", "status",
                  "quarantine_operation_id", "created_at", "updated_at")


def print_package(package: dict[str, Any], *, json_mode: bool) -> None:
    if json_mode:
        emit_json(package, pretty=True)
        return
    click.echo("\n".join(f"{key}: {printable(package[key]) if package[key] is not None else '-'}"
                         for key in PACKAGE_FIELDS))


def print_packages(packages: list[dict[str, Any]], *, json_mode: bool) -> None:
    if json_mode:
        emit_json({"packages": packages}, pretty=True)
        return
    columns = ("id", "version", "status", "risk_level", "install_path")
    table = [columns] + [tuple(printable(p[c]) for c in columns) for p in packages]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                        strict=True)).rstrip())
