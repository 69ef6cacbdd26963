"""The claim on a run folder: one holder at a time, and no stale claim after a crash."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from common.errors import ContractError
from domain.chirality.claim import claim_run


def test_a_second_claim_waits_for_the_first_to_end(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    release, polled, entered = threading.Event(), threading.Event(), threading.Event()
    waited: list[bool] = []

    def first() -> None:
        with claim_run(lock, run_id="r", deadline=time.monotonic() + 30, poll_s=0.01):
            release.wait(30)

    def second() -> None:
        def sleep(delay: float) -> None:
            polled.set()
            time.sleep(delay)

        with claim_run(lock, run_id="r", deadline=time.monotonic() + 30, poll_s=0.01,
                       sleep=sleep) as did_wait:
            waited.append(did_wait)
            entered.set()

    holder = threading.Thread(target=first)
    holder.start()
    while not lock.exists():
        time.sleep(0.001)
    waiter = threading.Thread(target=second)
    waiter.start()
    assert polled.wait(30)
    assert not entered.is_set()  # it found the lock taken and is waiting
    release.set()
    holder.join(30)
    waiter.join(30)
    assert entered.is_set() and waited == [True]
    assert not lock.exists()  # the last holder removed it


def test_waiting_past_the_deadline_is_a_timeout(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    ticks = iter(range(100))
    holder = claim_run(lock, run_id="r", deadline=time.monotonic() + 30, poll_s=0.01)
    with holder, pytest.raises(ContractError) as caught, claim_run(
            lock, run_id="r", deadline=3, poll_s=0.01, clock=lambda: float(next(ticks)),
            sleep=lambda _: None):
        pass
    assert (caught.value.code, caught.value.exit_code) == ("TIMEOUT", 3)
    assert "being computed by another job" in caught.value.message


def test_a_crashed_holder_leaves_no_stale_claim(tmp_path: Path) -> None:
    lock = tmp_path / ".lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, os, sys, time\n"
         f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
         "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        # Held by a live process: taken.
        with pytest.raises(ContractError), claim_run(lock, run_id="r", deadline=0,
                                                     poll_s=0.01):
            pass
        holder.kill()  # SIGKILL: no cleanup runs; the kernel drops the flock
        holder.wait(10)
        assert lock.exists()
        with claim_run(lock, run_id="r", deadline=0, poll_s=0.01) as waited:
            assert waited is False
    finally:
        holder.kill()
        holder.wait(10)
