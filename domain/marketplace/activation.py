"""Activation: plugins/<id> is a relative symlink to cache/<id>/<version>, swapped atomically."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from domain.marketplace.errors import plugin_error


def read_link(link: Path) -> str | None:
    """The link's target, None when there is no link; ERROR-INST-004 if something else is there."""
    if link.is_symlink():
        return os.readlink(link)
    if link.exists():
        raise plugin_error("ERROR-INST-004", f"{link} exists and is not a symlink; refusing "
                           "to replace it", {"path": str(link)})
    return None


def target_for(link: Path, cache_dir: Path) -> str:
    """The relative target from the link's folder, so the plugin folder can move."""
    return os.path.relpath(cache_dir, link.parent)


def swap_link(link: Path, target: str | None) -> None:
    """Point link at target in one rename (readers see the old or the new, never none)."""
    if target is None:
        link.unlink(missing_ok=True)
        return
    link.parent.mkdir(parents=True, exist_ok=True)
    temporary = link.with_name(f".{link.name}.{uuid.uuid4().hex[:8]}.swap")
    os.symlink(target, temporary)
    try:
        os.replace(temporary, link)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
