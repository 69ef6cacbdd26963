"""How Conveyor is deployed (docs/security.md, "Deployment"): what listens where, who
may read the keys, what a queue message may contain."""

from __future__ import annotations

import json
import os
import pickle
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import json_out, run_cli
from tests.support.env import ROOT

LOOPBACK = {"127.0.0.1", "::1"}


def _hex_address(text: str) -> str:
    """An address of /proc/net/tcp{,6} ("0100007F:1F90") as text ("127.0.0.1")."""
    raw = bytes.fromhex(text.split(":")[0])
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket process ``pid`` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                local = fields[1]
                found.add((_hex_address(local), int(local.split(":")[1], 16)))
    return found


# ---- the local stack ----------------------------------------------------------------------

@pytest.fixture
def stack(conveyor_home: Path) -> Iterator[dict[str, Any]]:
    env = dict(os.environ)
    up = run_cli("conveyor", "up", env=env)
    try:
        assert up.returncode == 0, up.stderr
        yield {**json_out(up), "printed": up.stdout + up.stderr}
    finally:
        run_cli("conveyor", "down", env=env)


@pytest.mark.integration
@pytest.mark.slow
def test_everything_the_local_stack_listens_on_is_loopback(stack: dict[str, Any]) -> None:
    from workers.stack import flower_installed

    pids = {c["name"]: c["pid"] for c in stack["components"]}
    listening = {name: listening_addresses(pid) for name, pid in pids.items()}
    assert listening["redis"], "redis-server listens on a TCP port"
    if flower_installed():
        assert listening["flower"], "Flower listens on a TCP port"
    exposed = {name: addresses for name, addresses in listening.items()
               if any(address not in LOOPBACK for address, _port in addresses)}
    assert exposed == {}
    if flower_installed():
        # Flower's API (which can shut workers down and revoke tasks) wants a login.
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{stack['flower_url']}/api/workers", timeout=10)
        assert caught.value.code == 401


@pytest.mark.integration
@pytest.mark.slow
def test_the_stacks_redis_wants_a_password_no_other_user_can_read(
        stack: dict[str, Any], conveyor_home: Path) -> None:
    folder = conveyor_home / "stack"
    state = json.loads((folder / "stack.json").read_text())
    port = state["redis_port"]
    # Loopback is shared by every local user: without the password, Redis says no.
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(64).startswith(b"-NOAUTH")
    password = state["broker_url"].split(":")[2].split("@")[0]
    assert len(password) >= 32
    # The password is in files of the owner's only, and not on any command line.
    assert (folder.stat().st_mode & 0o777) == 0o700
    for private in (folder / "stack.json", folder / "redis" / "auth.conf"):
        assert (private.stat().st_mode & 0o777) == 0o600
    for component in stack["components"]:
        cmdline = Path(f"/proc/{component['pid']}/cmdline").read_bytes()
        assert password.encode() not in cmdline, component["name"]
    # What `up` and `status` print shows it masked.
    status = run_cli("conveyor", "status", env=dict(os.environ))
    assert password not in stack["printed"] + status.stdout + status.stderr
    assert json.loads(status.stdout)["broker_url"] == f"redis://***@127.0.0.1:{port}/0"
    assert run_cli("conveyor", "check", "--queue", "default",
                   env=dict(os.environ)).returncode == 0


def test_the_stack_starts_redis_on_loopback_only() -> None:
    from workers.redis_server import RedisOptions, redis_command

    command = redis_command(RedisOptions(port=1234, data_dir=Path("/tmp/x")))
    assert command[command.index("--bind") + 1] == "127.0.0.1"


def test_compose_publishes_flower_on_the_host_loopback_and_nothing_else() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    published = {name: service.get("ports") for name, service in compose["services"].items()
                 if service.get("ports")}
    # Redis and PostgreSQL stay on the compose network; Flower on the host's loopback.
    assert published == {"flower": ["127.0.0.1:5555:5555"]}


# ---- keys ---------------------------------------------------------------------------------

def test_keys_are_the_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    from domain.oord.keyring import init_keys

    keys = tmp_path / "keys"
    old = os.umask(0)  # the most permissive umask there is
    try:
        init_keys(signing_key=keys / "signing_key.pem", tl_key=keys / "tl_key.pem",
                  trusted_jwks=keys / "trusted.jwks.json")
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in [keys, *keys.iterdir()]}
    assert modes == {"keys": 0o700, "signing_key.pem": 0o600, "tl_key.pem": 0o600,
                     "trusted.jwks.json": 0o644}


# ---- queue messages -----------------------------------------------------------------------

def test_a_queue_message_is_json_and_nothing_else() -> None:
    from kombu.exceptions import ContentDisallowed
    from kombu.serialization import loads

    from config.celery_app import create_app

    app = create_app()
    assert (app.conf.task_serializer, app.conf.result_serializer) == ("json", "json")
    assert app.conf.accept_content == ["json"] and app.conf.result_accept_content == ["json"]
    # A pickled body (which would run code when loaded) is refused before it is read.
    payload = pickle.dumps({"args": []})
    with pytest.raises(ContentDisallowed):
        loads(payload, "application/x-python-serialize", "binary",
              accept=app.conf.accept_content)


def test_the_transparency_log_server_listens_on_loopback_by_default(conveyor_home: Path) -> None:
    import subprocess
    import sys

    run_cli("oord", "keys", "init")
    serve = subprocess.Popen([str(Path(sys.executable).parent / "oord"), "tl", "serve",
                              "--port", "0"], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ))
    try:
        assert serve.stdout is not None
        url = json.loads(serve.stdout.readline())["serving"]
        port = int(url.rsplit(":", 1)[1])
        assert listening_addresses(serve.pid) == {("127.0.0.1", port)}
    finally:
        serve.terminate()
        serve.wait(10)
