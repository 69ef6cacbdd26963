"""Cold start of every console script, and what a profile of the slowest one shows.

Every figure is the median wall time of one whole process (interpreter start, imports,
the command, exit) for a cheap, representative command of each script, measured in
interleaved rounds beside `python -c pass`. The commands read their stores (an unknown
session, an empty registry) so that the lazy imports on each path are what they are in
real use; none needs a broker.

The second part is the profile-guided pass: the slowest commands are the ones that read
SQL, and `python -X importtime` shows where their time goes. The figures price the
packages those paths import (SQLAlchemy: the floor) and those they must not import any
more (Alembic, Celery, the Kubernetes and OpenAI clients).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.common import BenchReport, Figure, interleaved, median, time_once

ROUNDS = 11
SESSION = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
USER = "550e8400-e29b-41d4-a716-446655440000"
# Cold-start budgets by what a command must load: nothing heavy, or the JSON Schema
# validator (every plugins request is validated before any work).
PURE_S, SCHEMA_S = 0.15, 0.25
# A store reader (through the driver, no SQLAlchemy) against its native floor, measured
# in the same run: at most this many times `python -c "import click, sqlite3, json"`.
STORE_RATIO = 2.5
STORE: float | None = None
NATIVE = "import click, sqlite3, json"
# Packages that have no business on a CLI's path unless that path uses them.
HEAVY = ["sqlalchemy", "alembic", "celery", "kubernetes", "openai", "cryptography"]
# ... and where the path does use them (Oord signs with Ed25519).
NEEDED = {"oord verify (missing bundle)": {"cryptography"}}


def _commands(home: Path) -> list[tuple[str, list[str], float | None]]:
    """(label, argv, cold-start budget; None: STORE_RATIO x the native floor) for one
    command of every console script."""
    problem = home / "problem.json"
    problem.write_text('{"title": "t", "statement": "s"}')
    return [
        ("session-identity validate", ["session-identity", "validate", "--user-id", USER,
                                       "--session-id", SESSION], PURE_S),
        ("failure-classification classify", ["failure-classification", "classify", "--type",
                                             "init", "--context",
                                             '{"reason": "ImagePullBackOff"}'], PURE_S),
        ("session-lifecycle status", ["session-lifecycle", "status", "--session-id", SESSION],
         STORE),
        ("session-status get", ["session-status", "get", "--session-id", SESSION], STORE),
        ("environment-access authorize", ["environment-access", "authorize", "--session-id",
                                          SESSION, "--user-id", USER], STORE),
        ("cleanup-ttl check", ["cleanup-ttl", "check", "--session-id", SESSION], STORE),
        ("execution-environment status", ["execution-environment", "status", "--session-id",
                                          SESSION], STORE),
        ("conveyor jobs list", ["conveyor", "jobs", "list"], STORE),
        ("conveyor jobs show", ["conveyor", "jobs", "show", "no-such-job"], STORE),
        ("synora package list", ["synora", "package", "list"], STORE),
        ("oord verify (missing bundle)", ["oord", "verify", str(home / "none.zip")], PURE_S),
        ("plugins rollback --list-targets", ["plugins", "rollback", "demo", "--list-targets",
                                             "--plugin-dir", str(home / "plugins")], SCHEMA_S),
        ("chirality compute-pipeline (bad run id)", [
            "chirality", "compute-pipeline", "--resolver", "echo", "--out", "runs/BAD",
            "--problem-file", str(problem)], PURE_S),
    ]


def _timer(argv: list[str], env: dict[str, str], cwd: Path) -> Callable[[], float]:
    # Exit codes are part of the commands' contracts (an unknown session is 3 or 4);
    # only the time matters here.
    return lambda: time_once(argv, env=env, cwd=cwd, check=False)


def _imported(argv: list[str], env: dict[str, str], cwd: Path) -> set[str]:
    """Top-level packages a command imports, from `python -X importtime`."""
    result = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env, cwd=cwd,
                            capture_output=True, text=True, check=False)
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def run() -> BenchReport:
    report = BenchReport("Cold start of every console script, and the profile-guided pass",
                         "python -m bench cold_cli")
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-cold-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "CONVEYOR_HOME": str(home / "conveyor"),
               "SYNORA_HOME": str(home / "synora"), "CONVEYOR_CHIRALITY_RUNS_ROOT": str(home)}
        env.pop("CONVEYOR_BROKER_URL", None)
        commands = _commands(home)
        argvs = [[str(bin_dir / argv[0]), *argv[1:]] for _, argv, _ in commands]
        for argv in argvs:  # first calls create and migrate the stores: not cold-start cost
            subprocess.run(argv, env=env, cwd=home, capture_output=True, check=False)
        imports = {
            "python -c pass": [sys.executable, "-c", "pass"],
            NATIVE: [sys.executable, "-c", NATIVE],
            "import sqlalchemy.orm": [sys.executable, "-c", "import sqlalchemy.orm"],
            "import alembic.command": [sys.executable, "-c", "import alembic.command"],
            "import celery": [sys.executable, "-c", "import celery"],
            "import jsonschema": [sys.executable, "-c", "import jsonschema"],
        }
        measures = [_timer(argv, env, home) for argv in [*imports.values(), *argvs]]
        times = [median(t) for t in interleaved(ROUNDS, *measures)]
        base = dict(zip(imports, times, strict=False))
        for (label, _, target), value in zip(commands, times[len(imports):], strict=True):
            if target is None:
                report.figures.append(Figure(
                    f"cold `{label}`", value, f"`python -c \"{NATIVE}\"`", base[NATIVE], "s",
                    f"<= {STORE_RATIO:g}x", value <= STORE_RATIO * base[NATIVE]))
                continue
            report.figures.append(Figure(
                f"cold `{label}`", value, "`python -c pass`", base["python -c pass"], "s",
                f"<= {target:g} s", value <= target))
        for name in list(imports)[1:]:
            report.figures.append(Figure(f"`python -c \"{name}\"`", base[name],
                                         "`python -c pass`", base["python -c pass"], "s"))
        leaks = {label: sorted(_imported(argv, env, home) & set(HEAVY) - NEEDED.get(label, set()))
                 for (label, _, _), argv in zip(commands, argvs, strict=True)}
    load = os.getloadavg()[0]
    report.notes += [
        f"1-minute load average at the end of this run: {load:.1f} on {os.cpu_count()} cores "
        "(the absolute budgets in seconds assume a quiet machine; the ratio targets travel).",
        f"Median of {ROUNDS} interleaved rounds per command, whole processes, stores created "
        "beforehand; no broker configured (the embedded mode), so nothing waits on a worker.",
        "Store readers (exam status/display/TTL/environment, the access decision, jobs "
        "list/show, synora package list) read through the driver (store/driver.py: "
        "sqlite3, psycopg), so their floor is `python -c \"import click, sqlite3, json\"`, "
        "not the `import sqlalchemy.orm` row they used to pay. The SQLite fingerprint "
        "(PRAGMA user_version) is checked on the reader's own connection; Alembic and "
        "SQLAlchemy are imported only when a migration must run (the first call; not timed).",
        "`import celery` is cheap because Celery loads itself lazily; what the CLIs avoid "
        "is creating an app and connecting.",
        "The plugins commands validate every request against its JSON Schema before any "
        "work, so `import jsonschema` is part of their floor.",
        "Heavy packages imported per command (must be none but the path's own): "
        + "; ".join(f"{label}: {', '.join(names) or 'none'}" for label, names in leaks.items())
        + ".",
    ]
    return report
