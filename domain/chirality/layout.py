"""Where a run lives: <runs root>/runs/<run_id>/{index.json, snapshots/}, safely.

Every folder written into below the runs root (runs/, runs/<run_id>/, snapshots/) must be
a real folder: a symlink planted there could send the run's files anywhere, so it is
refused rather than followed. Files are replaced by rename, which replaces a symlink
instead of writing through it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from domain.chirality.errors import invalid_arguments, io_error
from domain.chirality.run_ids import RUNS_DIR, check_run_id

MANIFEST_NAME = "index.json"
SNAPSHOTS_DIR = "snapshots"
LOCK_NAME = ".chirality.lock"


@dataclass(frozen=True)
class RunLayout:
    root: Path
    run_id: str

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.run_id

    @property
    def snapshots_dir(self) -> Path:
        return self.run_dir / SNAPSHOTS_DIR

    @property
    def manifest_path(self) -> Path:
        return self.run_dir / MANIFEST_NAME

    @property
    def lock_path(self) -> Path:
        return self.run_dir / LOCK_NAME

    def snapshot_path(self, matrix: str) -> Path:
        return self.snapshots_dir / f"{matrix}.jsonl"


def layout_for(root: str | Path, run_id: str) -> RunLayout:
    """Check the root (absolute, an existing folder) and the run id; touch nothing."""
    check_run_id(run_id)
    path = Path(root)
    if not path.is_absolute():
        raise invalid_arguments(f"the runs root must be an absolute path, got {str(path)!r}")
    if not path.is_dir():
        raise invalid_arguments(f"the runs root {path} is not an existing folder",
                                runs_root=str(path))
    return RunLayout(path, run_id)


def ensure_real_dir(path: Path) -> None:
    """Create ``path`` if missing; refuse it if it is a symlink or not a folder."""
    try:
        os.mkdir(path, 0o755)
        return
    except FileExistsError:
        pass
    except OSError as exc:
        raise io_error(f"cannot create {path}: {exc.strerror or exc}", exc) from None
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise io_error(f"cannot inspect {path}: {exc.strerror or exc}", exc) from None
    if stat.S_ISLNK(mode):
        raise invalid_arguments(f"{path} is a symlink; a run's folders must be real folders "
                                f"under the runs root", path=str(path))
    if not stat.S_ISDIR(mode):
        raise invalid_arguments(f"{path} exists and is not a folder", path=str(path))


def prepare_run_dir(layout: RunLayout) -> None:
    ensure_real_dir(layout.runs_dir)
    ensure_real_dir(layout.run_dir)
