"""A private redis-server per test session, on a free loopback port."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.ports import free_port
from workers.redis_server import RedisOptions
from workers.redis_server import start_redis as start_redis_process


@dataclass
class RedisServer:
    port: int
    process: subprocess.Popen[bytes]
    data_dir: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def db_url(self, db: int) -> str:
        return f"{self.url}/{db}"

    def client(self, db: int = 0) -> Any:
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        """Stop and start again on the same port and data folder (for fault drills)."""
        self.stop()
        self.process = start_redis_process(
            RedisOptions(port=self.port, data_dir=self.data_dir, persistent=True))


def start_redis(data_dir: Path, *, persistent: bool = False) -> RedisServer:
    port = free_port()
    process = start_redis_process(RedisOptions(port=port, data_dir=data_dir,
                                               persistent=persistent))
    return RedisServer(port, process, data_dir)
