"""Which names are safe: payload paths inside a bundle, and ids that become folder names.

Seal and verify use the same rules, so a bundle seal writes always passes verify's
zip-slip checks, and a receiver can join org_id/batch_id/relpath under its
verified root without leaving it.
"""

from __future__ import annotations

import re

MAX_PATH_BYTES = 4096
MAX_COMPONENT_BYTES = 255
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+=,-]{0,127}")
_DRIVE = re.compile(r"[A-Za-z]:")


def _has_control(text: str) -> bool:
    return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _component_problem(part: str) -> str | None:
    if part in ("", ".", ".."):
        return "an empty, '.' or '..' path component"
    if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
        return f"a path component longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def relpath_problem(path: str) -> str | None:
    """Why ``path`` (a '/'-separated relative path) is unsafe, or None if it is fine."""
    try:
        size = len(path.encode("utf-8"))
    except UnicodeEncodeError:
        return "a name that is not valid UTF-8"
    if not path:
        return "an empty name"
    if size > MAX_PATH_BYTES:
        return f"a name longer than {MAX_PATH_BYTES} bytes"
    if path.startswith("/") or _DRIVE.match(path):
        return "an absolute path"
    if "\\" in path:
        return "a backslash (a Windows path separator)"
    if _has_control(path):
        return "a control character"
    for part in path.split("/"):
        problem = _component_problem(part)
        if problem:
            return problem
    return None


def id_problem(value: str) -> str | None:
    """Why an org_id or batch_id is unusable as a folder name, or None."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return ("must be 1-128 characters of letters, digits and . _ @ + = , -, "
                "starting with a letter or digit")
    return None
