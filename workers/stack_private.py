"""What keeps the local stack private on a shared host: file modes and Flower's login.

Loopback is reachable by every local user, and the state folder holds the database and
logs with task arguments inside: the folder is 0700, its files 0600, and Flower asks
for a password generated for each stack, as Redis does. stack.py calls these from a
line or two each.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from config.settings import Settings
from workers.private_files import write_private

FLOWER_USER = "conveyor"
_FLOWER_AUTH_FILE = "flower-auth.json"
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_state_private(settings: Settings, stack_dir: Path) -> None:
    """Folders 0700 and files 0600 under CONVEYOR_HOME, and everything this process and
    the stack's processes create from now on (umask 077, inherited by children)."""
    os.umask(0o077)
    home = settings.home
    for folder in (home, home / "logs", stack_dir, stack_dir / "logs"):
        folder.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        folder.chmod(PRIVATE_DIR)
    for folder in (home, home / "logs", stack_dir, stack_dir / "logs"):
        for entry in folder.iterdir():
            if entry.is_file() and not entry.is_symlink():
                entry.chmod(PRIVATE_FILE)



def flower_env(stack_dir: Path, env: dict[str, str]) -> dict[str, str]:
    """Flower's environment with a fresh basic-auth login (kept in a 0600 file for
    `conveyor status`). Through the environment, which only its owner can read in
    /proc, never the command line, which every local user can."""
    password = secrets.token_urlsafe(24)  # URL-safe: no comma, Flower's list separator
    write_private(stack_dir / _FLOWER_AUTH_FILE,
                   json.dumps({"user": FLOWER_USER, "password": password}))
    return {**env, "FLOWER_BASIC_AUTH": f"{FLOWER_USER}:{password}", "FLOWER_LOGGING": "warning"}


def flower_login(stack_dir: Path) -> dict[str, Any] | None:
    """The running stack's Flower login, or None."""
    try:
        data = json.loads((stack_dir / _FLOWER_AUTH_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def process_log_env(env: dict[str, str], log: Path) -> dict[str, str]:
    """A worker's or beat's environment: records go to its own rotating log file."""
    return {**env, "CONVEYOR_LOG_FILE": str(log)}
