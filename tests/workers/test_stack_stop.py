"""`conveyor down`'s stop: every component signalled at once, a quick-stop one (Flower)
killed once its short grace is over, nothing left alive."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.processes import ProcessRef
from workers.supervisor import STOP_TIMEOUT_S, stop_timeout_s, stop_together

IGNORES_SIGTERM = ("import signal, time\n"
                   "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                   "print('ready', flush=True)\n"
                   "time.sleep(300)\n")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[str]]]:
    processes: list[subprocess.Popen[str]] = []
    yield processes
    for process in processes:  # whatever a failed test left behind
        process.kill()
        process.wait()


def _spawn(started: list[subprocess.Popen[str]], *command: str) -> ProcessRef:
    process = subprocess.Popen(list(command), start_new_session=True, text=True,
                               stdout=subprocess.PIPE)
    started.append(process)
    if command[0] == sys.executable:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return ProcessRef.of(process.pid)


def test_flower_gets_a_short_grace_the_others_the_full_one() -> None:
    assert stop_timeout_s("flower") < stop_timeout_s("worker-ops") == STOP_TIMEOUT_S


def test_every_component_is_gone_even_one_that_ignores_sigterm(
        started: list[subprocess.Popen[str]]) -> None:
    refs = {"worker-ops": _spawn(started, "sleep", "300"),
            "beat": _spawn(started, "sleep", "300"),
            "flower": _spawn(started, sys.executable, "-c", IGNORES_SIGTERM)}
    stop_together(refs)
    assert [name for name, ref in refs.items() if ref.is_alive()] == []
    # Reaped too (they are this test's children): no zombie is left behind.
    assert [ref.pid for ref in refs.values() if Path(f"/proc/{ref.pid}").exists()] == []


def test_nothing_to_stop_is_fine() -> None:
    stop_together({})
    stop_together({"beat": ProcessRef(pid=2 ** 22 + 1, start_ticks=1)})  # long gone
