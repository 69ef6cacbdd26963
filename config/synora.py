"""Synora's settings: its home folder, the allowlisted roots, and test-only fault injection.

Synora works on the local machine's files from the CLI's own process, so these are read
by the `synora` command itself; nothing here involves the job system.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from config.env import ConfigError, env_bool, env_str, home_dir

RISK_LEVELS = ("low", "medium", "high", "critical")


@dataclass(frozen=True, kw_only=True)
class FaultPlan:
    """Failures to inject into a quarantine or restore, so tests can make them happen for real.

    Read only when SYNORA_TESTING is true (see `load_faults`); a production process never
    has one, whatever else its environment holds.
    """

    fail_after_files: int | None = None
    """Fail the move once this many files have moved (0: before the first one)."""
    unexpected_after_files: int | None = None
    """Raise a non-I/O error (a stand-in for a bug) once this many files have moved."""
    fail_after_registry: bool = False
    """Fail after every file moved and the registry entry changed (before the success row)."""
    rollback_fail_after_files: int | None = None
    """During a rollback, fail to move back the one file that comes after this many."""
    force_copy: bool = False
    """Treat every move as crossing filesystems (copy, fsync, delete) instead of renaming."""
    pause_after_files: int | None = None
    """Once this many files have moved, create <pause_file>.paused and wait for pause_file."""
    pause_file: Path | None = None

    @property
    def active(self) -> bool:
        return self != FaultPlan()


@dataclass(frozen=True, kw_only=True)
class SynoraSettings:
    home: Path
    """Canonical state folder: db/synora.db, quarantine/, locks/."""
    allowed_roots: tuple[Path, ...]
    """Where packages may live; empty means each package's own install path."""
    faults: FaultPlan = field(default_factory=FaultPlan)

    @property
    def db_path(self) -> Path:
        return self.home / "db" / "synora.db"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"


def _canonical(raw: str, name: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_absolute():
        raise ConfigError(f"{name} must be an absolute path, got {raw!r}")
    # The operator's own setting is trusted; resolving it once here lets the guard insist
    # that every package path below it is canonical (no symlink anywhere on the way).
    return Path(os.path.realpath(path))


def _allowed_roots() -> tuple[Path, ...]:
    raw = env_str("SYNORA_ALLOWED_ROOTS")
    if raw is None:
        return ()
    parts = [part.strip() for part in raw.split(os.pathsep) if part.strip()]
    return tuple(_canonical(part, "SYNORA_ALLOWED_ROOTS") for part in parts)


def _fault_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"SYNORA_FAULTS: {name} needs an integer, got {value!r}") from None
    if number < 0:
        raise ConfigError(f"SYNORA_FAULTS: {name} must be >= 0, got {number}")
    return number


_INT_FAULTS = ("fail_after_files", "unexpected_after_files", "rollback_fail_after_files",
               "pause_after_files")
_FLAG_FAULTS = ("fail_after_registry", "force_copy")


def parse_faults(spec: str) -> FaultPlan:
    """`fail_after_files=3,rollback_fail_after_files=1,force_copy,pause_file=/tmp/x`."""
    values: dict[str, object] = {}
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if name in _INT_FAULTS and sep:
            values[name] = _fault_int(name, value)
        elif name in _FLAG_FAULTS and not sep:
            values[name] = True
        elif name == "pause_file" and sep and value:
            values[name] = Path(value)
        else:
            raise ConfigError(f"SYNORA_FAULTS: cannot use {item!r}")
    return FaultPlan(**values)  # type: ignore[arg-type]


def load_faults() -> FaultPlan:
    """The fault plan, only when the explicit test switch SYNORA_TESTING is on."""
    if not env_bool("SYNORA_TESTING", False):
        return FaultPlan()
    return parse_faults(env_str("SYNORA_FAULTS", "") or "")


def load_synora_settings() -> SynoraSettings:
    """Read Synora's settings from the environment now."""
    raw_home = env_str("SYNORA_HOME")
    home = (_canonical(raw_home, "SYNORA_HOME") if raw_home is not None
            else Path(os.path.realpath(home_dir() / ".synora")))
    return SynoraSettings(home=home, allowed_roots=_allowed_roots(), faults=load_faults())
