"""Placement's request validation: the core JSON Schema validator with Placement's 400 messages."""

from __future__ import annotations

from typing import Any

from nubes.core.api.jsonschema import errors, is_uuid  # noqa: F401 - re-exported for placement modules
from nubes.placement import exceptions as exc


def validate(value: Any, schema: dict[str, Any]) -> Any:
    err = errors(value, schema)
    if err:
        raise exc.BadRequest(f"JSON does not validate: {err}")
    return value


def validate_query(params: dict[str, Any], schema: dict[str, Any]) -> None:
    err = errors(params, schema)
    if err:
        raise exc.BadRequest(f"Invalid query string parameters: {err}")
