"""The security guard: what may be quarantined, decided before anything moves.

Every refusal here is exit 3 and happens before the mutation boundary. The checks that a
path cannot change between the check and the move are in fsops (directory fds, no-follow).
"""

from __future__ import annotations

import os
from pathlib import Path

from config.synora import RISK_LEVELS, SynoraSettings
from domain.synora.errors import (
    INSTALL_PATH_MISSING,
    PATH_NOT_ALLOWED,
    PATH_NOT_CANONICAL,
    RISK_REQUIRES_CONFIRM,
    SYMLINK_BLOCKED,
    UNSUPPORTED_ENTRY,
    blocked,
    runtime,
)

CONFIRM_ONLY_RISKS = ("high", "critical")


def effective_risk(registered: str, requested: str | None) -> str:
    """The higher of the package's registered risk and the one asked for: a flag can
    raise the risk of an action, never lower it below what the registry says."""
    if requested is None:
        return registered
    return max(registered, requested, key=RISK_LEVELS.index)


def check_risk(risk: str, confirm: bool) -> None:
    if risk in CONFIRM_ONLY_RISKS and not confirm:
        raise blocked(RISK_REQUIRES_CONFIRM,
                      f"{risk} risk actions require --confirm (a dry run is refused too)",
                      risk_level=risk)


def _first_symlink(path: Path) -> Path | None:
    current = Path("/")
    for part in path.parts[1:]:
        current = current / part
        try:
            if current.is_symlink():
                return current
        except OSError:
            return None
    return None


def check_canonical(raw: str) -> Path:
    """An absolute, normalised path with no '..' and no symlink anywhere from '/'."""
    path = Path(raw)
    if not path.is_absolute() or ".." in raw.split("/") or os.path.normpath(raw) != raw:
        raise blocked(PATH_NOT_CANONICAL, f"install path {raw!r} is not canonical "
                      "(absolute, normalised, no '..')", path=raw)
    link = _first_symlink(path)
    if link is not None:
        raise blocked(SYMLINK_BLOCKED, f"{link} on the way to {raw} is a symbolic link",
                      path=str(link))
    if os.path.realpath(raw) != raw:
        raise blocked(PATH_NOT_CANONICAL, f"install path {raw!r} does not resolve to itself",
                      path=raw)
    return path


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def check_allowed(path: Path, settings: SynoraSettings) -> None:
    """Inside an allowlisted root, and clear of Synora's own folder."""
    if path == Path("/"):
        raise blocked(PATH_NOT_ALLOWED, "the filesystem root cannot be quarantined", path="/")
    if _inside(path, settings.home) or _inside(settings.home, path):
        raise blocked(PATH_NOT_ALLOWED, f"{path} overlaps Synora's home {settings.home}",
                      path=str(path))
    roots = settings.allowed_roots or (path,)
    if not any(_inside(path, root) for root in roots):
        raise blocked(PATH_NOT_ALLOWED, f"{path} is outside the allowlisted roots "
                      f"({', '.join(map(str, roots))})", path=str(path))


def check_install_path(raw: str, settings: SynoraSettings) -> Path:
    """The package's folder, if policy lets it be quarantined (else exit 3, or 4 if gone)."""
    path = check_canonical(raw)
    check_allowed(path, settings)
    if not path.exists():
        raise runtime(INSTALL_PATH_MISSING, f"install path {path} does not exist",
                      path=str(path))
    if not path.is_dir():
        raise blocked(UNSUPPORTED_ENTRY, f"install path {path} is not a folder", path=str(path))
    return path


def check_restore_target(raw: str, settings: SynoraSettings) -> Path:
    """Where a restore puts files back: canonical up to where it exists, allowlisted."""
    path = check_canonical(raw)
    check_allowed(path, settings)
    if path.exists() and not path.is_dir():
        raise blocked(UNSUPPORTED_ENTRY, f"{path} exists and is not a folder", path=str(path))
    return path
