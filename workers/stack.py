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

from config.connection import read_stack_state, stack_dir, stack_state_file
from config.processes import ProcessRef
from config.queues import DEFAULT as DEFAULT_QUEUE
from config.queues import ENVIRONMENTS, OORD, PIPELINES, QUEUES, SWEEPS
from config.redact import redact_url
from config.settings import Settings
from domain.errors import JobSystemError
from workers.ports import free_port, port_in_use
from workers.redis_server import RedisOptions, start_redis
from workers.stack_private import flower_env, flower_login, make_state_private, process_log_env

REDIS_START_TIMEOUT_S = 10.0
WORKER_READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
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

    def _write_state(self, redis: RedisOptions, processes: dict[str, ProcessRef],
                     flower_port: int | None) -> None:
        state = {
            "broker_url": _redis_url(redis, 0),
            "result_backend": _redis_url(redis, 1),
            "redis_port": redis.port,
            "flower_url": f"http://127.0.0.1:{flower_port}" if flower_port else None,
            "processes": {name: ref.to_json() for name, ref in processes.items()},
        }
        # The URLs carry Redis' password: the file is its owner's only (0600).
        tmp = stack_state_file(self.settings).with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps(state, indent=2))
        os.replace(tmp, stack_state_file(self.settings))

    def is_running(self) -> bool:
        ref = self._processes().get("redis")
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
        """Start everything (or nothing, if the stack runs already); return the status."""
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
        processes: dict[str, ProcessRef] = {}
        env = self._child_env(redis)
        redis_process = start_redis(redis, timeout_s=REDIS_START_TIMEOUT_S)
        processes["redis"] = ProcessRef.of(redis_process.pid)
        self._write_state(redis, processes, None)
        try:
            for name, queues in WORKER_GROUPS.items():
                processes[name] = self._spawn(
                    name, worker_command(name, queues, self.settings.stack_worker_concurrency),
                    env)
            processes["beat"] = self._spawn("beat", _celery(
                "beat", "-s", str(self.dir / "celerybeat-schedule"), "--pidfile="), env)
            flower_port = None
            if flower_installed():
                flower_port = free_port() if port_in_use(FLOWER_PORT) else FLOWER_PORT
                processes["flower"] = self._spawn("flower", _celery(
                    "flower", f"--port={flower_port}", "--address=127.0.0.1"),
                    flower_env(self.dir, env))
            self._write_state(redis, processes, flower_port)
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
        while time.monotonic() < deadline:
            missing = [q for q in QUEUES if not live_consumers(
                client, q, lease_renew_s=self.settings.lease_renew_s)]
            if not missing:
                return
            dead = [n for n, ref in self._processes().items() if not ref.is_alive()]
            if dead:
                raise JobSystemError("stack_failed", f"{', '.join(dead)} exited during start-up; "
                                     f"see the logs in {self.logs}")
            time.sleep(0.1)
        raise JobSystemError("stack_failed", f"workers did not start within "
                             f"{WORKER_READY_TIMEOUT_S:g} s; see the logs in {self.logs}")

    # ---- down --------------------------------------------------------------------------

    def down(self) -> list[str]:
        """Stop every process the state file names (workers first, Redis last)."""
        processes = self._processes()
        order = [n for n in processes if n != "redis"] + (["redis"] if "redis" in processes else [])
        stopped = []
        for name in order:
            if _stop(processes[name]):
                stopped.append(name)
        stack_state_file(self.settings).unlink(missing_ok=True)
        return stopped

    # ---- status ------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        state = read_stack_state(self.settings) or {}
        components = [
            {"name": name, "pid": ref.pid, "alive": ref.is_alive(),
             "log": str(self.logs / f"{name}.log")}
            for name, ref in self._processes().items()
        ]
        running = self.is_running()
        return {
            "running": running,
            "home": str(self.settings.home),
            "broker_url": redact_url(str(state.get("broker_url"))) if running else None,
            "flower_url": state.get("flower_url") if running else None,
            "flower_auth": flower_login(self.dir) if running and state.get("flower_url") else None,
            "components": components,
        }


def _redis_url(redis: RedisOptions, db: int) -> str:
    auth = f":{redis.password}@" if redis.password else ""
    return f"redis://{auth}127.0.0.1:{redis.port}/{db}"


def _stop(ref: ProcessRef) -> bool:
    """Stop one of our processes and its session; False if it was not running."""
    if not ref.is_alive():
        return False
    _signal_group(ref.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline:
        if not ref.is_alive():
            _reap(ref.pid)
            return True
        time.sleep(0.05)
    _signal_group(ref.pid, signal.SIGKILL)
    _reap(ref.pid)
    return True


def _signal_group(pid: int, signum: int) -> None:
    # Each component leads its own session (start_new_session), so its group is ours alone.
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
