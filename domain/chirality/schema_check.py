"""The contract's JSON Schemas, as validators (jsonschema, Draft 2020-12).

Strict: the schemas verbatim, which forbid unknown fields; the producer's own output is
held to them. Consumer: the same schemas with every `additionalProperties: false`
lifted, because the contract also says the producer may add non-breaking fields and
the consumer must ignore unknown fields. Everything else (required fields, types,
the run_id pattern, the matrix enum) is checked the same way in both.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

MANIFEST_SCHEMA = "framework-manifest-1_0_0.json"
SNAPSHOT_SCHEMA = "framework-snapshot-1_0_0.json"

# RFC 3339 date-time (JSON Schema's "date-time" format); jsonschema checks it only with
# an optional package installed, so it is checked here.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


def load_schema(name: str) -> dict[str, Any]:
    text = resources.files("domain.chirality.schemas").joinpath(name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats apply to strings only; "type" catches the rest
    if _DATE_TIME.match(value) is None:
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _lift_closed_objects(node: Any) -> Any:
    if isinstance(node, dict):
        return {key: (True if key == "additionalProperties" and value is False
                      else _lift_closed_objects(value)) for key, value in node.items()}
    if isinstance(node, list):
        return [_lift_closed_objects(item) for item in node]
    return node


@cache
def validator(name: str, *, strict: bool) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    schema = load_schema(name)
    if not strict:
        schema = _lift_closed_objects(copy.deepcopy(schema))
    Draft202012Validator.check_schema(schema)
    checker = FormatChecker(formats=())
    checker.checks("date-time")(is_date_time)
    return Draft202012Validator(schema, format_checker=checker)


def schema_errors(name: str, instance: Any, *, strict: bool, limit: int = 10) -> list[str]:
    """Readable schema violations of ``instance``: "at /matrices/C: 'sha256' is a required
    property"; empty when it is valid."""
    found = []
    for error in validator(name, strict=strict).iter_errors(instance):
        where = "/" + "/".join(str(part) for part in error.absolute_path)
        found.append(f"at {where}: {error.message}")
        if len(found) >= limit:
            break
    return sorted(found)
