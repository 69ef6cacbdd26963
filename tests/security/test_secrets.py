"""Secrets stay where they were configured (docs/security.md, "Secrets").

One deployment with a secret in every place one can be: Redis and PostgreSQL passwords
in their URLs, OPENAI_API_KEY (and an endpoint that quotes it back in its errors),
OORD_API_KEY. Real Redis (requirepass), real PostgreSQL, a real `celery worker`
process, the real console scripts. Every command a worker executes is recorded by a
Redis MONITOR client; the test then looks for each secret in every queue message
(decoded), everything else sent to Redis, every key left in it, every row of the jobs
and contract tables, the worker's log, the CLIs' log and their outputs.
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from config.settings import reset_settings
from tests.support.chat_server import ChatServer
from tests.support.cli import run_cli
from tests.support.env import skip_or_fail
from tests.support.oord import core_server, make_keys, make_tree
from tests.support.workers import WorkerProcess
from workers.ports import free_port
from workers.redis_server import RedisOptions, start_redis

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REDIS_SECRET = "redis-pw-Zq81xK"
PG_SECRET = "pg-pw-Wm27pL"
OPENAI_SECRET = "sk-openai-Yt55aQ"
CORE_SECRET = "core-key-Rv93eD"
SECRETS = (REDIS_SECRET, PG_SECRET, OPENAI_SECRET, CORE_SECRET)
QUEUES = ["environments", "sweeps", "pipelines", "oord", "default"]


# ---- Redis with a password, and a MONITOR client that records every command --------------

@dataclass
class SecretRedis:
    port: int
    process: subprocess.Popen[bytes]

    def url(self, db: int) -> str:
        return f"redis://:{REDIS_SECRET}@127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, password=REDIS_SECRET,
                           socket_timeout=5)


@pytest.fixture
def secret_redis(tmp_path: Path) -> Iterator[SecretRedis]:
    port = free_port()
    try:
        process = start_redis(RedisOptions(port=port, data_dir=tmp_path / "redis",
                                           persistent=False, password=REDIS_SECRET))
    except Exception as exc:  # no binary, cannot bind
        skip_or_fail(f"cannot start redis-server: {exc}")
    yield SecretRedis(port, process)
    process.terminate()
    process.wait(10)


@dataclass
class Monitor:
    """A raw MONITOR connection: every command the server executes, as its argument lists."""

    port: int
    raw: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port))
        self.sock.sendall(f"AUTH {REDIS_SECRET}\r\nMONITOR\r\n".encode())
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while chunk := self.sock.recv(1 << 16):
            self.raw.extend(chunk)

    def stop(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(10)
        self.sock.close()

    def commands(self) -> list[list[str]]:
        """Each monitored command's arguments, unescaped (MONITOR quotes them C-style)."""
        out = []
        for line in bytes(self.raw).decode("latin-1").split("\r\n"):
            if not re.match(r"\+\d+\.\d+ \[", line):
                continue
            args = re.findall(r'"((?:[^"\\]|\\.)*)"', line.split("] ", 1)[1])
            out.append([codecs.decode(a, "unicode_escape").encode("latin-1")
                        .decode("utf-8", "replace") for a in args])
        return out


def decoded_messages(commands: list[list[str]]) -> list[dict[str, Any]]:
    """Every task message pushed onto a queue list, its body decoded (kombu base64s it)."""
    messages = []
    for args in commands:
        if args[0].upper() not in ("LPUSH", "RPUSH") or args[1] not in QUEUES:
            continue
        for payload in args[2:]:
            message = json.loads(payload)
            body = message["body"]
            if message["properties"].get("body_encoding") == "base64":
                body = base64.b64decode(body).decode()
            messages.append({"headers": message["headers"], "body": json.loads(body),
                             "queue": args[1]})
    return messages


def _value(client: Any, key: bytes) -> Any:
    kind = client.type(key).decode()
    if kind == "string":
        return client.get(key)
    if kind == "hash":
        return client.hgetall(key)
    if kind == "set":
        return client.smembers(key)
    if kind in ("list", "zset"):
        return (client.lrange if kind == "list" else client.zrange)(key, 0, -1)
    return kind


def everything_in(server: SecretRedis) -> str:
    """Every key and value of every database, as text."""
    parts = []
    for db in range(16):
        client = server.client(db)
        parts += [f"{key!r} {_value(client, key)!r}" for key in client.scan_iter()]
    return "\n".join(parts)


def assert_no_secret(where: str, text: str) -> None:
    found = [secret for secret in SECRETS if secret in text]
    assert not found, f"{found} found in {where}"


# ---- the deployment -----------------------------------------------------------------------

def _pg_url_with_password(postgres_url: str) -> str:
    # Local trust authentication accepts any password: the URL carries one all the same,
    # as a deployment's would, and it must never show anywhere.
    scheme, rest = postgres_url.split("://", 1)
    userinfo, host = rest.split("@", 1)
    return f"{scheme}://{userinfo.split(':')[0]}:{PG_SECRET}@{host}"


@pytest.fixture
def deployment(secret_redis: SecretRedis, postgres_url: str, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch, conveyor_home: Path) -> Iterator[dict[str, Any]]:
    chat = ChatServer().start()
    keys = make_keys(tmp_path / "keys")
    with core_server(api_key=CORE_SECRET) as core:
        env = {
            "CONVEYOR_HOME": str(conveyor_home),
            "CONVEYOR_BROKER_URL": secret_redis.url(0),
            "CONVEYOR_RESULT_BACKEND": secret_redis.url(1),
            "CONVEYOR_DATABASE_URL": _pg_url_with_password(postgres_url),
            "CONVEYOR_LOG_FORMAT": "json",
            "CONVEYOR_LOG_LEVEL": "debug",
            "CONVEYOR_NO_WORKER_GRACE_S": "2",
            "OPENAI_API_KEY": OPENAI_SECRET,
            "OPENAI_BASE_URL": chat.base_url,
            "CHIRALITY_MAX_RETRIES": "0",
            "OORD_STATE_DIR": str(tmp_path / "oord"),
            "OORD_SETTLE_SECONDS": "0",
            "OORD_CORE_URL": core.url,
            "OORD_API_KEY": CORE_SECRET,
            "OORD_TL_MODE": "required",
            **keys.env(),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        full_env = {**os.environ, **env}
        worker = WorkerProcess(full_env, QUEUES, tmp_path, concurrency=4).start()
        monitor = Monitor(secret_redis.port)
        try:
            worker.wait_ready(secret_redis.client())
            yield {"env": full_env, "worker": worker, "monitor": monitor, "chat": chat,
                   "core": core, "redis": secret_redis, "home": conveyor_home,
                   "tmp": tmp_path, "keys": keys}
        finally:
            worker.stop()
            monitor.stop()
            chat.stop()


def _rows(url: str) -> str:
    import psycopg

    text = []
    with psycopg.connect(url.replace(f":{PG_SECRET}", "")) as conn:
        for table in ("jobs", "oord_batches", "oord_bundles", "exam_sessions",
                      "exam_environments", "exam_access_log", "oord_tl_entries"):
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                text.append(repr(row))
    return "\n".join(text)


def test_no_secret_reaches_a_queue_message_a_row_or_a_log(deployment: dict[str, Any],
                                                          tmp_path: Path) -> None:
    env, chat = deployment["env"], deployment["chat"]
    outputs: list[str] = []

    def cli(*args: str, cwd: Path | None = None,
            **overrides: str) -> subprocess.CompletedProcess[str]:
        result = run_cli(*args, env={**env, **overrides}, cwd=cwd, timeout=180)
        outputs.append(f"$ {' '.join(args)}\n{result.stdout}\n{result.stderr}")
        return result

    problem = tmp_path / "problem.json"
    problem.write_text(json.dumps({"title": "t", "statement": "s"}))
    work = tmp_path / "work"
    work.mkdir()

    # 1. chirality with the openai resolver: a run that succeeds (the key is sent) ...
    ok = cli("chirality", "compute-pipeline", "--resolver", "openai", "--out", "runs/ok",
             "--problem-file", str(problem), "--concurrency", "16", cwd=work)
    assert ok.returncode == 0, ok.stderr
    assert chat.authorizations == {f"Bearer {OPENAI_SECRET}"}
    # ... and one whose endpoint rejects the key, quoting it back in its error
    chat.quote_key_in_errors = True
    chat.script([], then_status=401)
    rejected = cli("chirality", "compute-pipeline", "--resolver", "openai", "--out",
                   "runs/rejected", "--problem-file", str(problem), "--verbose", cwd=work)
    assert rejected.returncode == 5, rejected.stderr
    assert "Incorrect API key provided: Bearer ***" in rejected.stderr

    # 2. the oord agent seals a batch through Core with its API key
    make_tree(Path(env["OORD_STATE_DIR"]) / "watch" / "invoices", {"a.txt": b"invoice\n"})
    scan = cli("oord", "agent", "scan", "--role", "sender")
    assert scan.returncode == 0, scan.stderr
    deadline = time.monotonic() + 60
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = json.loads(cli("oord", "agent", "status", "--json").stdout)
        if status["batches"] and status["batches"][0]["state"] == "sealed":
            break
        time.sleep(0.2)
    assert status["batches"][0]["state"] == "sealed", status
    assert {r["auth"] for r in deployment["core"].requests} == {f"Bearer {CORE_SECRET}"}

    # 3. an exam environment on the local backend, and the operations commands
    session = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
    assert cli("session-lifecycle", "create", "--user-id", "550e8400-e29b-41d4-a716-"
               "446655440000", "--session-id", session).returncode == 0
    created = cli("execution-environment", "create", "--session-id", session)
    assert created.returncode == 0, created.stderr
    assert cli("execution-environment", "destroy", "--session-id", session).returncode == 0
    for args in (("conveyor", "check"), ("conveyor", "status"),
                 ("conveyor", "jobs", "list", "--json"), ("oord", "agent", "config")):
        result = cli(*args)
        assert result.returncode == 0, result.stderr
    # ... and with the database and the broker gone: their errors (and the traceback of
    # the unexpected one, in cli.log) name the URLs without their passwords
    gone = {"CONVEYOR_DATABASE_URL": f"postgresql://conveyor:{PG_SECRET}@127.0.0.1:1/x",
            "CONVEYOR_BROKER_URL": f"redis://:{REDIS_SECRET}@127.0.0.1:1/0"}
    listed = cli("conveyor", "jobs", "list", **gone)
    assert listed.returncode == 3  # JOB_SYSTEM_UNAVAILABLE: the database cannot be reached
    assert json.loads(listed.stderr)["details"]["reason"] == "database_unavailable"
    assert cli("conveyor", "check", "--queue", "default", "--timeout", "2",
               **gone).returncode == 3  # the system cannot serve (docs/conveyor.md)
    cli_log = (deployment["home"] / "logs" / "cli.log").read_text()
    # check now names the outage (database_unavailable) instead of crashing on it; the
    # driver's own error text is logged with it, and it carries no password either
    assert "the jobs database is unavailable" in cli_log and "Connection refused" in cli_log
    assert_no_secret("cli.log", cli_log)

    # Then: the queue messages were captured, and none carries a secret
    monitor: Monitor = deployment["monitor"]
    deployment["worker"].stop()
    time.sleep(0.2)  # the last replies reach the monitor
    commands = monitor.commands()
    messages = decoded_messages(commands)
    tasks = {m["headers"]["task"] for m in messages}
    assert {"tasks.pipelines.compute_pipeline", "tasks.oord.scan_outgoing",
            "tasks.oord.seal_batch", "tasks.environments.create"} <= tasks, tasks
    pipeline = next(m for m in messages if m["headers"]["task"].endswith("compute_pipeline"))
    assert pipeline["body"][1]["run_id"] == "ok"  # the real kwargs, decoded
    for message in messages:
        assert_no_secret(f"the message of {message['headers']['task']}", json.dumps(message))
    # ... nor anything else sent to Redis (AUTH is redacted by Redis itself) or kept in it
    sent = "\n".join(" ".join(args) for args in commands if args[0].upper() != "AUTH")
    assert len(commands) > 100
    assert_no_secret("the commands sent to Redis", sent)
    stored = everything_in(deployment["redis"])
    assert "celery-task-meta-" in stored  # the results, among the rest
    assert_no_secret("Redis' keys", stored)
    # ... nor a row of the jobs and contract tables
    rows = _rows(env["CONVEYOR_DATABASE_URL"])
    assert "tasks.pipelines.compute_pipeline" in rows and "RESOLVER_ERROR" in rows
    assert_no_secret("the database rows", rows)
    # ... nor the worker's log (at debug level) or the CLIs' log, nor any output
    worker_log = deployment["worker"].log_path.read_text()
    assert "compute_pipeline" in worker_log
    assert_no_secret("the worker's log", worker_log)
    for log in (deployment["home"] / "logs").glob("*"):
        assert_no_secret(str(log), log.read_text())
    assert_no_secret("the CLIs' outputs", "\n".join(outputs))
    for process_log in (deployment["home"] / "exam").rglob("process.log"):
        assert_no_secret(str(process_log), process_log.read_text())
