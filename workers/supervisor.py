"""The local stack's supervisor: one small process that owns Redis, workers, beat and Flower.

`conveyor up` writes a plan (plan.json: Redis' options and each component's command)
and starts `python -m workers.supervisor <stack dir>` in a session of its own. The
supervisor starts every process of the plan as its child and watches them:

- a component that exits is started again after a backoff (0.5 s, doubled per crash in
  a row, at most 10 s); after GIVE_UP_AFTER crashes within CRASH_WINDOW_S it is given
  up and reported as such (state "gave_up" in `conveyor status`);
- Redis is started again on the same port, with the same password and the same
  append-only file, so queued jobs and every client's URL survive a crash of it;
- the state file (stack.json) says what each process really is: pid, alive, restarts,
  last exit code; it is rewritten on every change.

SIGTERM (`conveyor down`) stops the components first and Redis last, removes the state
file and ends the supervisor.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.processes import ProcessRef, signal_session
from workers.private_files import write_private

logger = logging.getLogger("conveyor.supervisor")

TICK_S = 0.2
FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
GIVE_UP_AFTER = 5
CRASH_WINDOW_S = 60.0
STOP_TIMEOUT_S = 15.0
KILL_WAIT_S = 2.0
QUICK_STOP_S = {"flower": 2.0}
"""Components that keep nothing worth a warm shutdown get only this long after SIGTERM.
Flower (run without --persistent) holds only what it watched: with Redis dead its exit
waits for its inspector's broker retries, which back off past STOP_TIMEOUT_S (measured:
5.8 s after Redis was gone 12 s, 3.0 s after 25 s: it depends on where its backoff
is), so `down` sat on it."""
REDIS_START_TIMEOUT_S = 10.0
PLAN_FILE = "plan.json"
STATE_FILE = "stack.json"


@dataclass
class Child:
    """One supervised process and what happened to it so far."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    """Variables this component gets beyond the supervisor's own environment."""
    output: str = ""
    """File under the logs folder for its stdout and stderr (default: name.log)."""
    process: subprocess.Popen[bytes] | None = None
    ref: ProcessRef | None = None
    restarts: int = 0
    last_exit: int | None = None
    state: str = "starting"
    """starting, running, restarting (waiting out its backoff) or gave_up."""
    restart_at: float = 0.0
    crashes: deque[float] = field(default_factory=deque)

    def to_json(self) -> dict[str, Any]:
        ref = self.ref or ProcessRef(pid=0, start_ticks=None)
        return {**ref.to_json(), "restarts": self.restarts, "last_exit": self.last_exit,
                "state": self.state}


def backoff_s(crashes_in_a_row: int) -> float:
    """How long to wait before the next start of a component that crashed that often."""
    return float(min(FIRST_BACKOFF_S * 2 ** max(crashes_in_a_row - 1, 0), MAX_BACKOFF_S))


def record_crash(child: Child, now: float) -> None:
    """Count one exit of ``child``; schedule its restart or give it up."""
    child.crashes.append(now)
    while child.crashes and now - child.crashes[0] > CRASH_WINDOW_S:
        child.crashes.popleft()
    if len(child.crashes) >= GIVE_UP_AFTER:
        child.state = "gave_up"
        return
    child.state = "restarting"
    child.restart_at = now + backoff_s(len(child.crashes))


class Supervisor:
    def __init__(self, stack_dir: Path) -> None:
        self.dir = stack_dir
        plan = json.loads((stack_dir / PLAN_FILE).read_text())
        self.plan = plan
        self.logs = Path(plan["logs"])
        self.redis = Child("redis", [])
        self.children = [Child(c["name"], list(c["command"]), env=dict(c.get("env", {})),
                               output=c.get("output", ""))
                         for c in plan["components"]]
        self.stopping = False
        self.self_ref = ProcessRef.of(os.getpid())

    # ---- the processes -------------------------------------------------------------

    def _redis_options(self) -> Any:
        from workers.redis_server import RedisOptions

        r = self.plan["redis"]
        return RedisOptions(port=int(r["port"]), data_dir=Path(r["data_dir"]),
                            logfile=Path(r["logfile"]), password=r["password"])

    def _start_redis(self) -> None:
        from common.errors import JobSystemError
        from workers.redis_server import start_redis

        try:
            process = start_redis(self._redis_options(), timeout_s=REDIS_START_TIMEOUT_S)
        except (JobSystemError, OSError) as exc:
            logger.error("redis-server did not start: %s", exc)
            self.redis.last_exit = -1
            record_crash(self.redis, time.monotonic())
            return
        self._started(self.redis, process)

    def _start(self, child: Child) -> None:
        # The supervisor's own log file is not its children's: each names its own, or none.
        env = {k: v for k, v in os.environ.items() if k != "CONVEYOR_LOG_FILE"}
        env.update(child.env)
        with open(self.logs / (child.output or f"{child.name}.log"), "ab") as log:
            process = subprocess.Popen(child.command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=self.plan["cwd"],
                                       env=env, start_new_session=True)
        self._started(child, process)

    def _started(self, child: Child, process: subprocess.Popen[bytes]) -> None:
        if child.process is not None:
            child.restarts += 1
        child.process = process
        child.ref = ProcessRef.of(process.pid)
        child.state = "running"
        logger.info("%s started (pid %d, restarts %d)", child.name, process.pid, child.restarts)

    def _all(self) -> list[Child]:
        return [self.redis, *self.children]

    # ---- the state file ------------------------------------------------------------

    def write_state(self) -> None:
        state = {
            "broker_url": self.plan["broker_url"],
            "result_backend": self.plan["result_backend"],
            "redis_port": self.plan["redis"]["port"],
            "flower_url": self.plan.get("flower_url"),
            "supervisor": self.self_ref.to_json(),
            "processes": {c.name: c.to_json() for c in self._all() if c.ref is not None},
        }
        # The URLs carry Redis' password: the file is its owner's only (0600).
        write_private(self.dir / STATE_FILE, json.dumps(state, indent=2))

    # ---- the loop ------------------------------------------------------------------

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        self._start_redis()
        for child in self.children:
            self._start(child)
        self.write_state()
        while not self.stopping:
            if self.watch_once(time.monotonic()):
                self.write_state()
            time.sleep(TICK_S)
        self.stop_all()

    def watch_once(self, now: float) -> bool:
        """Notice exits and start what is due; True when something changed."""
        changed = False
        for child in self._all():
            if child.state == "running" and child.process is not None:
                code = child.process.poll()
                if code is not None:
                    child.last_exit = code
                    record_crash(child, now)
                    level = logging.ERROR if child.state == "gave_up" else logging.WARNING
                    logger.log(level, "%s exited with %s; %s", child.name, code,
                               "given up" if child.state == "gave_up"
                               else f"restart in {child.restart_at - now:.1f} s")
                    changed = True
            if child.state == "restarting" and now >= child.restart_at and not self.stopping:
                # Redis first: a component started while Redis is down only waits for it.
                if child is self.redis:
                    self._start_redis()
                else:
                    self._start(child)
                changed = True
        return changed

    def _on_term(self, *_: Any) -> None:
        self.stopping = True

    def stop_all(self) -> None:
        """Components first (in parallel), Redis last; then forget the state."""
        _stop_group([c for c in self.children if c.process is not None])
        _stop_group([self.redis] if self.redis.process is not None else [])
        (self.dir / STATE_FILE).unlink(missing_ok=True)


def stop_timeout_s(name: str) -> float:
    """How long a component may take to exit after SIGTERM before it gets SIGKILL."""
    return QUICK_STOP_S.get(name, STOP_TIMEOUT_S)


def _stop_group(children: list[Child]) -> None:
    live = {c.name: c.process for c in children
            if c.process is not None and c.process.poll() is None}
    stop_together({name: ProcessRef.of(process.pid) for name, process in live.items()})
    for process in live.values():
        process.wait()  # gone already: only Popen's own record is settled here


def stop_together(processes: dict[str, ProcessRef]) -> None:
    """SIGTERM every one of them at once; SIGKILL each that outlives its own grace
    (stop_timeout_s), then wait until it is gone. The supervisor stops its children so,
    and `conveyor down` what the supervisor left."""
    live = {name: ref for name, ref in processes.items() if ref.is_alive()}
    for ref in live.values():
        signal_session(ref.pid, signal.SIGTERM)
    started = time.monotonic()
    killed: dict[str, ProcessRef] = {}
    while live or killed:
        elapsed = time.monotonic() - started
        for name, ref in list(live.items()):
            if not ref.is_alive():
                reap_child(live.pop(name).pid)
            elif elapsed >= stop_timeout_s(name):
                signal_session(ref.pid, signal.SIGKILL)
                killed[name] = live.pop(name)
        for name, ref in list(killed.items()):
            # SIGKILL cannot be ignored; bounded anyway (a process stuck in the kernel).
            if not ref.is_alive() or elapsed >= stop_timeout_s(name) + KILL_WAIT_S:
                reap_child(killed.pop(name).pid)
        if live or killed:
            time.sleep(0.05)


def reap_child(pid: int) -> None:
    """Collect a child's exit status, if it is ours and has exited (no zombie left)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def main() -> None:
    stack_dir = Path(sys.argv[1])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    Supervisor(stack_dir).run()


if __name__ == "__main__":
    main()
