"""Package ids and operation ids."""

from __future__ import annotations

import re
import uuid

from domain.synora.errors import (
    INVALID_OPERATION_ID,
    INVALID_PACKAGE_ID,
    UNSAFE_PACKAGE_ID,
    blocked,
    usage,
)

# "Git.Git", "Mozilla.Firefox", "python3.11", "7zip.7zip": a name, never a path.
_PACKAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@-]{0,127}")
_TRAVERSAL = ("/", "\\", "\x00", "..")


def validate_package_id(package_id: str) -> str:
    """The id itself, or a refusal: traversal-shaped ids are a security block (exit 3),
    other malformed ids a usage error (exit 2). The id names lock files and audit rows, so it
    must never be able to point anywhere."""
    if package_id == "":
        raise usage(INVALID_PACKAGE_ID, "--id must not be empty")
    if package_id == "." or any(token in package_id for token in _TRAVERSAL):
        raise blocked(UNSAFE_PACKAGE_ID,
                      f"package id {package_id!r} contains a path separator or '..'",
                      package_id=package_id)
    if not _PACKAGE_ID.fullmatch(package_id):
        raise usage(INVALID_PACKAGE_ID,
                    f"package id {package_id!r} must be 1-128 characters of letters, digits "
                    "and . _ + @ -, starting with a letter or digit", package_id=package_id)
    return package_id


def new_operation_id() -> str:
    """A random UUIDv4: unique across processes and machines without coordination."""
    return str(uuid.uuid4())


def validate_operation_id(operation_id: str) -> str:
    """The canonical lower-case form of a UUID operation id, or a usage error."""
    try:
        parsed = uuid.UUID(operation_id)
    except ValueError:
        raise usage(INVALID_OPERATION_ID,
                    f"operation id {operation_id!r} is not a UUID") from None
    if str(parsed) != operation_id.lower():
        raise usage(INVALID_OPERATION_ID,
                    f"operation id {operation_id!r} is not in the 8-4-4-4-12 form")
    return str(parsed)
