"""The local stack behind `conveyor up|down|status`.

A real redis-server on a free loopback port (append-only persistence), Celery
workers for every queue, exactly one beat and Flower when it is installed: all
background processes of their own session, with their pid and start time in the
state file so that `down` stops exactly these processes and nothing else.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.errors import JobSystemError
from config.connection import read_stack_state, stack_dir, stack_state_file
from config.processes import ProcessRef, signal_session
from config.queues import DEFAULT as DEFAULT_QUEUE
from config.queues import ENVIRONMENTS, OORD, PIPELINES, QUEUES, SWEEPS
from config.redact import redact_url
from config.settings import Settings
from workers.ports import free_port, port_in_use
from workers.private_files import write_private
from workers.redis_server import RedisOptions
from workers.stack_private import flower_env, flower_login, make_state_private, process_log_env
from workers.supervisor import PLAN_FILE, STOP_TIMEOUT_S, reap_child, stop_together

WORKER_READY_TIMEOUT_S = 60.0
FLOWER_PORT = 5555

# Worker groups: long pipeline runs get their own worker so they never starve the rest.
WORKER_GROUPS: dict[str, tuple[str, ...]] = {
    "worker-ops": (ENVIRONMENTS, SWEEPS, OORD, DEFAULT_QUEUE),
    "worker-pipelines": (PIPELINES,),
}
assert sorted(q for group in WORKER_GROUPS.values() for q in group) == sorted(QUEUES)


@dataclass(frozen=True)
class Component:
    name: str
    command: list[str]


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", *args]


def worker_command(name: str, queues: tuple[str, ...], concurrency: int) -> list[str]:
    return _celery("worker", "-Q", ",".join(queues), "-n", f"{name}@%h", "--pool", "threads",
                   "-c", str(concurrency), "--without-mingle", "--without-gossip", "-E")


def project_root() -> Path:
    """The folder holding Conveyor's top-level packages."""
    return Path(__file__).resolve().parents[1]


def flower_installed() -> bool:
    return importlib.util.find_spec("flower") is not None


class Stack:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = stack_dir(settings)
        self.logs = self.dir / "logs"

    # ---- state -------------------------------------------------------------------------

    def _processes(self) -> dict[str, ProcessRef]:
        state = read_stack_state(self.settings) or {}
        raw = state.get("processes")
        refs = {}
        if isinstance(raw, dict):
            for name, data in raw.items():
                ref = ProcessRef.from_json(data)
                if ref is not None:
                    refs[name] = ref
        return refs

    def supervisor(self) -> ProcessRef | None:
        state = read_stack_state(self.settings) or {}
        return ProcessRef.from_json(state.get("supervisor"))

    def is_running(self) -> bool:
        ref = self.supervisor()
        return ref is not None and ref.is_alive()

    # ---- up ----------------------------------------------------------------------------

    def _spawn(self, name: str, command: list[str], env: dict[str, str]) -> ProcessRef:
        if name != "flower":  # ours log to a rotating name.log; raw output goes to name.out
            env = process_log_env(env, self.logs / f"{name}.log")
        log = open(self.logs / f"{name}.{'log' if name == 'flower' else 'out'}", "ab")  # noqa: SIM115
        with log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env, cwd=self._cwd(),
                                       start_new_session=True)
        return ProcessRef.of(process.pid)

    @staticmethod
    def _cwd() -> str:
        # `celery -A config` imports from the current folder first: start where the
        # project's packages are, whatever folder `conveyor up` was called from.
        return str(project_root())

    def _child_env(self, redis: RedisOptions) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "CONVEYOR_HOME": str(self.settings.home),
            "CONVEYOR_BROKER_URL": _redis_url(redis, 0),
            "CONVEYOR_RESULT_BACKEND": _redis_url(redis, 1),
            "CONVEYOR_LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def up(self) -> dict[str, Any]:
        """Start everything (or nothing, if the stack runs already); return the status.

        The processes are the children of one supervisor (workers/supervisor.py), which
        restarts any of them that exits; this command only writes its plan, starts it
        and waits until every queue has a consuming worker."""
        if self.is_running():
            return self.status()
        self.down()  # clear what a crashed stack left behind
        # The stack's folder (logs, Redis' data and password) is its owner's only.
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        make_state_private(self.settings, self.dir)
        from store.engine import get_engine

        get_engine()  # migrate once here, before several workers race to do it
        # Loopback is not private on a shared host: every local user can reach it. Redis
        # wants a password, fresh for each stack, kept in 0600 files and our environment.
        redis = RedisOptions(port=free_port(), data_dir=self.dir / "redis",
                             logfile=self.logs / "redis.log",
                             password=secrets.token_urlsafe(32))
        env = self._child_env(redis)
        # Ours log to a rotating name.log (raw output, e.g. a crash at start, to name.out);
        # Flower logs to flower.log and gets a fresh basic-auth login through its env.
        components = [
            {"name": name, "command": worker_command(
                name, queues, self.settings.stack_worker_concurrency),
             "env": process_log_env({}, self.logs / f"{name}.log"), "output": f"{name}.out"}
            for name, queues in WORKER_GROUPS.items()
        ]
        components.append({"name": "beat", "command": _celery(
            "beat", "-s", str(self.dir / "celerybeat-schedule"), "--pidfile="),
            "env": process_log_env({}, self.logs / "beat.log"), "output": "beat.out"})
        flower_port = None
        if flower_installed():
            flower_port = free_port() if port_in_use(FLOWER_PORT) else FLOWER_PORT
            components.append({"name": "flower", "command": _celery(
                "flower", f"--port={flower_port}", "--address=127.0.0.1"),
                "env": flower_env(self.dir, {}), "output": "flower.log"})
        plan = {
            "broker_url": _redis_url(redis, 0), "result_backend": _redis_url(redis, 1),
            "flower_url": f"http://127.0.0.1:{flower_port}" if flower_port else None,
            "redis": {"port": redis.port, "data_dir": str(redis.data_dir),
                      "logfile": str(redis.logfile), "password": redis.password},
            "components": components, "logs": str(self.logs), "cwd": self._cwd(),
        }
        _write_private_json(self.dir / PLAN_FILE, plan)
        try:
            self._spawn("supervisor", [sys.executable, "-m", "workers.supervisor",
                                       str(self.dir)], env)
            self._wait_for_workers(redis)
        except BaseException:
            self.down()
            raise
        return self.status()

    def _wait_for_workers(self, options: RedisOptions) -> None:
        import redis

        from workers.consumers import live_consumers

        client = redis.Redis(host="127.0.0.1", port=options.port, password=options.password,
                             socket_timeout=2)
        deadline = time.monotonic() + WORKER_READY_TIMEOUT_S
        started = False
        while time.monotonic() < deadline:
            state = read_stack_state(self.settings) or {}
            started = started or self.is_running()
            if started and not self.is_running():
                raise JobSystemError("stack_failed", f"the supervisor exited during start-up; "
                                     f"see the logs in {self.logs}")
            given_up = [n for n, p in _process_entries(state).items()
                        if p.get("state") == "gave_up"]
            if given_up:
                raise JobSystemError("stack_failed", f"{', '.join(given_up)} kept exiting "
                                     f"during start-up; see the logs in {self.logs}")
            if started:
                with contextlib.suppress(redis.RedisError):
                    if all(live_consumers(client, q, lease_renew_s=self.settings.lease_renew_s)
                           for q in QUEUES):
                        return
            time.sleep(0.1)
        raise JobSystemError("stack_failed", f"workers did not start within "
                             f"{WORKER_READY_TIMEOUT_S:g} s; see the logs in {self.logs}")

    # ---- down --------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop the supervisor (which stops its children, Redis last), then anything the
        state file still names that lives on (a supervisor killed with SIGKILL)."""
        processes = self._processes()
        stopped = [name for name, ref in processes.items() if ref.is_alive()]
        supervisor = self.supervisor()
        if supervisor is not None and supervisor.is_alive():
            stopped.append("supervisor")
            _stop(supervisor, timeout_s=2 * STOP_TIMEOUT_S + 5)
        processes = self._processes() or processes
        # Together, not one after the other: with Redis dead each component's exit waits
        # out its broker retries, and in turn those waits added up.
        stop_together({n: ref for n, ref in processes.items() if n != "redis"})
        stop_together({n: ref for n, ref in processes.items() if n == "redis"})
        stack_state_file(self.settings).unlink(missing_ok=True)
        (self.dir / PLAN_FILE).unlink(missing_ok=True)
        return stopped

    # ---- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Each process as it is now: pid, alive, restarts, last exit, supervisor state."""
        state = read_stack_state(self.settings) or {}
        entries = _process_entries(state)
        components = []
        supervisor = self.supervisor()
        if supervisor is not None:
            components.append({"name": "supervisor", "pid": supervisor.pid,
                               "alive": supervisor.is_alive(), "restarts": 0,
                               "last_exit": None, "state": "running" if supervisor.is_alive()
                               else "exited", "log": str(self.logs / "supervisor.log")})
        for name, ref in self._processes().items():
            entry = entries.get(name, {})
            components.append({
                "name": name, "pid": ref.pid, "alive": ref.is_alive(),
                "restarts": entry.get("restarts", 0), "last_exit": entry.get("last_exit"),
                "state": entry.get("state"), "log": str(self.logs / f"{name}.log")})
        running = self.is_running()
        return {
            "running": running,
            "home": str(self.settings.home),
            "broker_url": redact_url(str(state.get("broker_url"))) if running else None,
            "flower_url": state.get("flower_url") if running else None,
            "flower_auth": flower_login(self.dir) if running and state.get("flower_url") else None,
            "components": components,
        }


def _process_entries(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = state.get("processes")
    if not isinstance(raw, dict):
        return {}
    return {name: entry for name, entry in raw.items() if isinstance(entry, dict)}


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    """The plan carries Redis' password (and Flower's): written 0600."""
    write_private(path, json.dumps(data, indent=2))


def _redis_url(redis: RedisOptions, db: int) -> str:
    auth = f":{redis.password}@" if redis.password else ""
    return f"redis://{auth}127.0.0.1:{redis.port}/{db}"


def _stop(ref: ProcessRef, timeout_s: float = STOP_TIMEOUT_S) -> bool:
    """Stop one of our processes and its session; False if it was not running."""
    if not ref.is_alive():
        return False
    signal_session(ref.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not ref.is_alive():
            reap_child(ref.pid)
            return True
        time.sleep(0.05)
    signal_session(ref.pid, signal.SIGKILL)
    reap_child(ref.pid)
    return True
