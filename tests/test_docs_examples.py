"""The shell examples of docs/*.md that can run here, run as written.

A fenced block whose info string is `console runnable` is one: `$ COMMAND` lines, each
followed by the stdout the doc shows for it. The block runs in bash, in a fresh empty
folder with its own CONVEYOR_HOME and the embedded mode (no broker, the CLIs run the
jobs themselves), the commands one after another as a reader would type them; each
command's stdout (then stderr) must match what the doc shows, where `...` stands for any text (ids,
times, paths). Other blocks (needing a stack, Kubernetes, an OpenAI key) are left alone.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.env import ROOT

INFO = "console runnable"
FENCE = re.compile(r"^```(?P<info>[^\n]*)\n(?P<body>.*?)^```$", re.M | re.S)


@dataclass(frozen=True)
class Step:
    command: str
    shown: str


def _steps(body: str) -> list[Step]:
    steps: list[Step] = []
    command: str | None = None
    shown: list[str] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            if command is not None:
                steps.append(Step(command, "\n".join(shown)))
            command, shown = line[2:], []
        elif command is not None:
            shown.append(line)
    if command is not None:
        steps.append(Step(command, "\n".join(shown)))
    return steps


def _examples() -> list[tuple[str, list[Step]]]:
    found = []
    for path in sorted((ROOT / "docs").glob("*.md")):
        text = path.read_text()
        for number, match in enumerate(FENCE.finditer(text), 1):
            if match["info"].strip() == INFO:
                line = text.count("\n", 0, match.start()) + 1
                found.append((f"{path.name}:{line}", _steps(match["body"])))
                assert found[-1][1], f"{path.name}:{line}: block {number} has no $ command"
    return found


EXAMPLES = _examples()


def matches(shown: str, printed: str) -> bool:
    """Line for line; `...` is any text (several lines too); trailing spaces ignored."""
    pattern = ".*?".join(re.escape(part) for part in shown.rstrip().split("..."))
    lines = "\n".join(line.rstrip() for line in printed.rstrip().splitlines())
    return re.fullmatch(pattern, lines, re.S) is not None


def test_the_matcher_can_fail() -> None:
    assert matches('{\n  "a": 1,\n  "id": "..."\n}', '{\n  "a": 1,\n  "id": "x-1"\n}')
    assert not matches('{"a": 1}', '{\n  "a": 1\n}')  # compact in the doc, pretty for real
    assert not matches("a: ...", "b: 1")


def test_some_examples_are_marked() -> None:
    assert len(EXAMPLES) >= 3
    assert {where.split(":")[0] for where, _ in EXAMPLES} >= {"oord.md", "synora.md"}


@pytest.mark.parametrize(("where", "steps"), EXAMPLES, ids=[w for w, _ in EXAMPLES])
def test_the_example_prints_what_the_doc_shows(where: str, steps: list[Step],
                                               tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CONVEYOR_", "OORD_", "SYNORA_", "YELLOW_PLUGINS_",
                                "CHIRALITY_", "OPENAI_"))}
    env.update(CONVEYOR_HOME=str(tmp_path / "home"), CONVEYOR_BROKER_URL="memory://",
               SYNORA_HOME=str(tmp_path / "synora"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    for step in steps:
        result = subprocess.run(["bash", "-c", step.command], cwd=work, env=env,
                                capture_output=True, text=True, timeout=120)
        printed = result.stdout + result.stderr  # an error example shows the error
        assert matches(step.shown, printed), \
            f"{where}: `{step.command}` printed\n{printed}\nthe doc shows\n{step.shown}"
