"""Writing verified payload files into a fresh staging folder, never outside it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import BinaryIO

from domain.oord.names import relpath_problem

FILE_MODE = 0o644
DIR_MODE = 0o755


class UnsafePath(Exception):
    """A payload path that would leave the staging folder."""


class Stage:
    """A staging folder that did not exist before: every file is created new inside it."""

    def __init__(self, root: Path) -> None:
        root.parent.mkdir(parents=True, exist_ok=True)
        root.mkdir(mode=DIR_MODE)  # FileExistsError if a leftover is there: the caller cleans
        self.root = root
        self._real = os.path.realpath(root)

    def open(self, relpath: str) -> BinaryIO:
        problem = relpath_problem(relpath)
        if problem:
            raise UnsafePath(f"{relpath!r}: {problem}")
        target = self.root.joinpath(*relpath.split("/"))
        self._make_parents(target.parent)
        real_parent = os.path.realpath(target.parent)
        if os.path.commonpath([self._real, real_parent]) != self._real:
            raise UnsafePath(f"{relpath!r} resolves outside the staging folder")
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE)
        return os.fdopen(fd, "wb")

    def _make_parents(self, folder: Path) -> None:
        missing: list[Path] = []
        while folder != self.root and not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            path.mkdir(mode=DIR_MODE)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
