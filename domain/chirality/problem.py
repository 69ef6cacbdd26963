"""The --problem-file: a JSON object {"title": string, "statement": string}."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.chirality.errors import invalid_arguments, io_error

# The problem travels in the job's arguments and into the manifest: keep it a document,
# not a data set.
MAX_PROBLEM_BYTES = 256 * 1024


@dataclass(frozen=True)
class Problem:
    title: str
    statement: str

    def as_json(self) -> dict[str, str]:
        return {"title": self.title, "statement": self.statement}


def problem_from_json(data: Any, *, source: str = "the problem") -> Problem:
    """Check the shape; other fields are ignored (the manifest keeps title and statement)."""
    if not isinstance(data, dict):
        raise invalid_arguments(f"{source} must be a JSON object with \"title\" and "
                                f"\"statement\" strings")
    missing = [key for key in ("title", "statement") if not isinstance(data.get(key), str)]
    if missing:
        raise invalid_arguments(f"{source} needs string field(s) {', '.join(missing)}",
                                missing=missing)
    # JSON's \u escapes can spell lone surrogates, which no UTF-8 manifest can hold: refuse
    # them here rather than fail in the job when the manifest is written.
    broken = [key for key in ("title", "statement") if not _is_unicode_text(data[key])]
    if broken:
        raise invalid_arguments(f"{source}: {', '.join(broken)} must be Unicode text (a lone "
                                f"surrogate escape such as \\ud800 is not)", invalid=broken)
    return Problem(title=data["title"], statement=data["statement"])


def _is_unicode_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_problem_file(path: Path) -> Problem:
    """Read and check --problem-file: exit 2 for a bad argument, 4 for an unreadable file."""
    shown = str(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_PROBLEM_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise invalid_arguments(f"--problem-file {shown}: no such file", path=shown) from None
    except IsADirectoryError:
        raise invalid_arguments(f"--problem-file {shown} is a directory", path=shown) from None
    except ValueError:  # a NUL byte, or a character the file system encoding cannot hold
        raise invalid_arguments(f"--problem-file {shown!r} is not a usable path",
                                path=shown) from None
    except OSError as exc:
        raise io_error(f"cannot read --problem-file {shown}: {exc.strerror or exc}", exc) \
            from None
    if len(raw) > MAX_PROBLEM_BYTES:
        raise invalid_arguments(f"--problem-file {shown} is larger than "
                                f"{MAX_PROBLEM_BYTES // 1024} KiB", path=shown)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise invalid_arguments(f"--problem-file {shown} is not valid UTF-8 JSON: {exc}",
                                path=shown) from None
    except RecursionError:  # json's parser recurses once per level of nesting
        raise invalid_arguments(f"--problem-file {shown} is nested too deeply to be a "
                                f"problem", path=shown) from None
    return problem_from_json(data, source=f"--problem-file {shown}")
