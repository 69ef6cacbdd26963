"""Validating requests (and, in tests, responses) against api/cli-contracts/<command>.json.

jsonschema is imported here, on first use only. A failing request becomes
ERROR-SCHEMA-001 with the failing rule's schemaPath (a JSON pointer into the schema
file), its keyword and an AJV-style message in error.context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from api import load_schema, schema_path
from common.errors import ContractError
from domain.marketplace.errors import plugin_error

if TYPE_CHECKING:  # jsonschema ships no type stubs here; it is imported lazily at run time
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
    from jsonschema.protocols import Validator  # type: ignore[import-untyped]

PARTS = ("request", "response")


@cache
def validator(command: str, part: str) -> Validator:
    """A Draft-07 validator of one definition, with the file's definitions in reach."""
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]

    root = load_schema(command)
    document = {k: v for k, v in root.items() if k != "oneOf"}
    document.update(root["definitions"][part])
    return Draft7Validator(document)


def _pointer(tokens: Iterable[Any]) -> str:
    return "".join("/" + str(t).replace("~", "~0").replace("/", "~1") for t in tokens)


def schema_pointer(command: str, part: str, tokens: Iterable[Any]) -> str:
    """The failing rule as a pointer into the schema file, following $refs.

    jsonschema's paths pass through a $ref without naming it; a token the current node
    lacks is looked up in the node its $ref points at.
    """
    root = load_schema(command)
    pointer = f"/definitions/{part}"
    node: Any = root["definitions"][part]
    for token in tokens:
        if token == "$ref" and isinstance(node, dict) and "$ref" in node:
            continue
        while isinstance(node, dict) and "$ref" in node and token not in node:
            pointer = str(node["$ref"]).lstrip("#")
            node = root
            for step in pointer.strip("/").split("/"):
                node = node[step]
        node = node[token] if isinstance(node, dict | list) else None
        pointer += _pointer([token])
    return "#" + pointer


def ajv_message(error: ValidationError) -> str:
    """The message AJV would give (what the catalog's examples show)."""
    keyword, instance = error.validator, error.instance
    value: Any = error.validator_value
    if keyword == "required" and isinstance(instance, dict):
        missing = next((name for name in value if name not in instance), "?")
        return f"must have required property '{missing}'"
    if keyword == "additionalProperties":
        return "must NOT have additional properties"
    messages = {
        "type": f"must be {value}", "enum": "must be equal to one of the allowed values",
        "const": "must be equal to constant", "pattern": f'must match pattern "{value}"',
        "minLength": f"must NOT have fewer than {value} characters",
        "maxLength": f"must NOT have more than {value} characters",
        "oneOf": "must match exactly one schema in oneOf", "anyOf": "must match a schema in anyOf",
        "minimum": f"must be >= {value}", "maxItems": f"must NOT have more than {value} items",
    }
    return str(messages.get(str(keyword), error.message))


def _extra_properties(error: ValidationError) -> list[str]:
    allowed = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
    instance = error.instance if isinstance(error.instance, dict) else {}
    return sorted(k for k in instance if k not in allowed)


def check(command: str, part: str, instance: Any) -> ContractError | None:
    """None when valid, else the ERROR-SCHEMA-001 to answer with."""
    from jsonschema.exceptions import best_match  # type: ignore[import-untyped]

    errors = list(validator(command, part).iter_errors(instance))
    if not errors:
        return None
    best = best_match(errors)
    assert best is not None
    context: dict[str, Any] = {
        "schemaPath": schema_pointer(command, part, best.absolute_schema_path),
        "keyword": best.validator, "message": ajv_message(best),
        "instancePath": _pointer(best.absolute_path), "errorCount": len(errors)}
    if best.validator == "additionalProperties":
        context["additionalProperties"] = _extra_properties(best)
    file = f"api/cli-contracts/{schema_path(command).name}"
    error = plugin_error("ERROR-SCHEMA-001", f"Request does not match {schema_path(command).name}"
                         f" schema: {context['instancePath'] or '/'} {context['message']}",
                         context)
    error.details["resolution"] = f"Validate JSON against {file}"
    error.details["summary"] = "Invalid request payload"
    return error


def validate_request(command: str, request: Mapping[str, Any]) -> None:
    error = check(command, "request", request)
    if error is not None:
        raise error
