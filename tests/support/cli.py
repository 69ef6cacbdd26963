"""Run the project's console scripts the way a user does: as processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.env import ROOT


def run_cli(*args: str, env: dict[str, str] | None = None, input_text: str | None = None,
            timeout: float = 120, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).parent / args[0]
    return subprocess.run([str(executable), *args[1:]], env=env or dict(os.environ),
                          input=input_text, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or ROOT)


def json_out(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stdout.strip(), f"no stdout; stderr: {result.stderr}"
    return json.loads(result.stdout)


def json_err(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.stderr.strip(), f"no stderr; stdout: {result.stdout}"
    return json.loads(result.stderr)


# A minimal contract CLI that submits one job and waits for it, as every contract CLI does.
_SUBMIT_AND_WAIT = """
import json, sys
import click
from cli.contract import StandardErrorFormat, run_cli

@click.command()
@click.argument("task")
@click.argument("kwargs")
def submit_and_wait(task, kwargs):
    from cli.jobs_client import run_job
    job, result = run_job(task, json.loads(kwargs))
    print(json.dumps({"job_id": job.job_id, "result": result}))

run_cli(submit_and_wait, StandardErrorFormat(), sys.argv[1:], "submit-and-wait")
"""


def start_submit_and_wait(task: str, kwargs: dict[str, Any], env: dict[str, str]
                          ) -> subprocess.Popen[str]:
    """A CLI process submitting ``task`` and waiting for it (stdout/stderr piped)."""
    return subprocess.Popen([sys.executable, "-c", _SUBMIT_AND_WAIT, task, json.dumps(kwargs)],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
