"""Files only their owner may read: the stack's passwords, plans and state."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, created 0600 and replaced by rename, so a reader never
    sees half a file and no other user ever sees it at all (O_NOFOLLOW: never a link)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_FILE)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
