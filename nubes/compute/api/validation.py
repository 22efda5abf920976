"""Request validation with Nova's 400 wording, on the core JSON Schema validator.

Nova says "Invalid input for field/attribute <last path element>. Value: <value>. <message>"
(or just the message when the whole body is wrong); query strings are checked the same way.
"""

from __future__ import annotations

from typing import Any

from nubes.core.api.jsonschema import first_error
from nubes.compute.exceptions import BadRequest


def validate(body: Any, schema: dict[str, Any]) -> Any:
    err = first_error(body, schema)
    if err is None:
        return body
    if err.path:
        raise BadRequest(f"Invalid input for field/attribute {err.path[-1]}. Value: {err.value}. "
                         f"{err.message}")
    raise BadRequest(err.message)


def validate_query(params: dict[str, Any], schema: dict[str, Any]) -> None:
    validate(params, schema)


# Pieces of Nova's schemas (nova/api/validation/parameter_types.py), as facts, not code.
def positive_integer(minimum: int = 1, maximum: int = 2**31 - 1) -> dict[str, Any]:
    """An integer, or a string of digits, in range (Nova accepts both)."""
    return {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": minimum, "maximum": maximum}


def as_int(value: Any) -> int:
    return int(value)


NAME = {"type": "string", "minLength": 1, "maxLength": 255,
        "pattern": r"^(?![\s])[^\x00-\x1f]*(?<![\s])$"}
DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535,
               "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"}
BOOLEAN = {"type": ["boolean", "string"], "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on",
                                                   "YES", "Yes", "yes", False, "False", "FALSE", "false",
                                                   "0", "OFF", "Off", "off", "NO", "No", "no"]}


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("true", "1", "on", "yes")
