"""The original yellow-plugins contract schemas (api/cli-contracts of
KingInYellows/yellow-plugins at b86a6eacf181d043be97e635f7a53b4c6757b816, unchanged), and
a Draft-07 validator for them with the formats they name (date-time, uri) checked the way
AJV with ajv-formats does: RFC 3339 and RFC 3986, written here from the RFCs' grammars.

Our requests must accept whatever these accept; our responses must validate here too.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker  # type: ignore[import-untyped]

HERE = Path(__file__).parent
DEFINITION = {("install", "request"): "InstallRequest", ("install", "response"): "InstallResponse",
              ("update", "request"): "UpdateRequest", ("update", "response"): "UpdateResponse",
              ("rollback", "request"): "RollbackRequest",
              ("rollback", "response"): "RollbackResponse"}

# RFC 3339 section 5.6: full-date "T" full-time; "T" and "Z" may be lower case.
_DATE_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?"
                        r"([Zz]|[+-](\d{2}):(\d{2}))$")

# RFC 3986 section 3, absolute URI: scheme ":" hier-part [ "?" query ] [ "#" fragment ].
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_PCT = r"%[0-9A-Fa-f]{2}"
_PCHAR = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}:@]|{_PCT})"
_REG_NAME = rf"(?:[{_UNRESERVED}{_SUB_DELIMS}]|{_PCT})*"
_USERINFO = rf"(?:(?:[{_UNRESERVED}{_SUB_DELIMS}:]|{_PCT})*@)?"
_HOST = rf"(?:\[[0-9A-Fa-f:.]+\]|{_REG_NAME})"
_AUTHORITY = rf"{_USERINFO}{_HOST}(?::\d*)?"
_PATH_ABEMPTY = rf"(?:/{_PCHAR}*)*"
_HIER = rf"(?://{_AUTHORITY}{_PATH_ABEMPTY}|/?(?:{_PCHAR}+(?:/{_PCHAR}*)*)?)"
_URI = re.compile(rf"^[A-Za-z][A-Za-z0-9+\-.]*:{_HIER}(?:\?(?:{_PCHAR}|[/?])*)?"
                  rf"(?:#(?:{_PCHAR}|[/?])*)?$")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.match(value)
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        datetime(year, month, day)
    except ValueError:
        return False
    offset_ok = match.group(9) is None or (int(match.group(9)) < 24 and int(match.group(10)) < 60)
    return hour < 24 and minute < 60 and second <= 60 and offset_ok


def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or _URI.match(value) is not None


@cache
def _checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_is_date_time)
    checker.checks("uri")(_is_uri)
    return checker


@cache
def validator(command: str, part: str) -> Draft7Validator:
    root: dict[str, Any] = json.loads((HERE / f"{command}.json").read_text())
    document = {k: v for k, v in root.items() if k != "oneOf"}
    document["$ref"] = f"#/definitions/{DEFINITION[command, part]}"
    return Draft7Validator(document, format_checker=_checker())


def problems(command: str, part: str, instance: Any) -> list[str]:
    """Every way instance fails the original's definition (empty when it validates)."""
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator(command, part).iter_errors(instance)]
