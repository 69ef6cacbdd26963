"""Fixtures of the security review (docs/security.md): contract CLIs run in this process,
and the plugins fixtures reused from their own suite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click
import pytest

from cli.contract import ErrorFormat, invoke

# The plugins suite's fixtures (a project folder, a test marketplace, an in-process
# caller that checks every response against its schema), reused as they are.
from tests.cli.plugins.conftest import market, plugin_dir, plugins, project  # noqa: F401


@dataclass(frozen=True)
class Outcome:
    """Everything a caller of a command can observe: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


Invoke = Callable[..., Outcome]


@pytest.fixture
def run_command(capsys: pytest.CaptureFixture[str]) -> Invoke:
    """run_command(group, error_format, prog, *args) -> Outcome, in this process."""
    def run(group: click.Command, fmt: ErrorFormat, prog: str, *args: str) -> Outcome:
        capsys.readouterr()
        code = invoke(group, fmt, list(args), prog_name=prog)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)
    return run

# oord's domain fixtures: keys (trusted set included), sealing a folder, verifying a bundle.
from tests.domain.oord.conftest import keys, open_tl, seal_folder, signer, verify  # noqa: E402,F401
