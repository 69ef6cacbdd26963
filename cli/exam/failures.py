"""`failure-classification classify`: severity, messages and recovery for a failure."""

from __future__ import annotations

import json
from typing import Any

import click

from cli.contract import run_cli
from cli.exam.common import CONTEXT, ERRORS, output
from domain.exam.failures import FAILURE_TYPES

MAX_CONTEXT_CHARS = 64 * 1024


def _context(_ctx: click.Context, _param: click.Parameter, value: str) -> dict[str, Any]:
    if len(value) > MAX_CONTEXT_CHARS:
        raise click.BadParameter(f"at most {MAX_CONTEXT_CHARS} characters")
    try:
        parsed = json.loads(value)
    except RecursionError:  # within the size limit, "[[[[..." is deep enough for this
        raise click.BadParameter("not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise click.BadParameter("must be a JSON object")
    if not _is_unicode(parsed):
        raise click.BadParameter("must be Unicode text: it has lone surrogates (bytes that "
                                 "are not UTF-8, or \\ud800-\\udfff escapes)")
    return parsed


def _is_unicode(parsed: dict[str, Any]) -> bool:
    """Whether every string in it can be written out as UTF-8: the reason and message
    reappear in technical_details, and stdout carries UTF-8 JSON."""
    try:
        json.dumps(parsed, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@click.group(context_settings=CONTEXT)
def failure_classification() -> None:
    """Classify failures and describe them for people."""


@failure_classification.command("classify")
@click.option("--type", "failure_type", required=True, type=click.Choice(FAILURE_TYPES),
              help="Failure type.")
@click.option("--context", "context", required=True, metavar="JSON", callback=_context,
              help='JSON object with the failure context, e.g. {"reason": "ImagePullBackOff"}.')
def classify_command(failure_type: str, context: dict[str, Any]) -> None:
    """Classify a failure and give a human-readable description."""
    from domain.exam.failures import classify

    output(classify(failure_type, context))


def main() -> None:
    run_cli(failure_classification, ERRORS, prog_name="failure-classification")
