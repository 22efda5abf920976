"""A small JSON Schema subset validator with jsonschema's messages, for the services' 400s.

Supports: type, properties, required, additionalProperties (bool or schema), patternProperties,
minProperties, maxProperties, items, minItems, maxItems, uniqueItems, minimum, maximum,
exclusiveMinimum, minLength, maxLength, pattern, enum, format "uuid", anyOf.

``first_error`` returns the first violation with where it is (the path of keys and indexes
from the document's root) and the offending value, which is what Nova's messages show;
``errors`` returns just the message, as Placement's.
"""

from __future__ import annotations

import re
import uuid as uuidlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SchemaError:
    path: tuple[Any, ...]
    value: Any
    message: str


_TYPES: dict[str, Any] = {
    "object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
}


def _type_ok(value: Any, typ: str) -> bool:
    if typ == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if typ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[typ])


def _r(v: Any) -> str:
    if isinstance(v, str):
        return repr(v)
    if v is None:
        return "None"
    if isinstance(v, bool):
        return str(v)
    return repr(v)


def errors(value: Any, schema: dict[str, Any]) -> str | None:
    """The first violation as a message, or None."""
    err = first_error(value, schema)
    return err.message if err else None


def first_error(value: Any, schema: dict[str, Any], path: tuple[Any, ...] = ()) -> SchemaError | None:
    """The first violation with its path and value, or None."""
    msg = _own_error(value, schema)
    if msg:
        return SchemaError(path, value, msg)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            err = first_error(item, schema["items"], (*path, i))
            if err:
                return err
    if isinstance(value, dict):
        return _object_errors(value, schema, path)
    return None


def _own_error(value: Any, schema: dict[str, Any]) -> str | None:
    """A violation of the schema by the value itself (not by one of its items or properties)."""
    if "anyOf" in schema and all(errors(value, s) is not None for s in schema["anyOf"]):
        return f"{_r(value)} is not valid under any of the given schemas"
    typ = schema.get("type")
    if typ is not None:
        types = typ if isinstance(typ, list) else [typ]
        if not any(_type_ok(value, t) for t in types):
            shown = ", ".join(repr(t) for t in types)
            return f"{_r(value)} is not of type {shown}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{_r(value)} is not one of {schema['enum']!r}"
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{_r(value)} is too short"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{_r(value)} is too long"
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{_r(value)} does not match {schema['pattern']!r}"
        if schema.get("format") == "uuid" and not is_uuid(value):
            return f"{_r(value)} is not a 'uuid'"
    number = _numeric_string(value, schema)
    if number is not None:
        # Nova's validator compares a number sent as a string ("1024") with minimum/maximum too.
        return _range_error(number, schema) or _container_error(value, schema)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _range_error(value, schema)
    return _container_error(value, schema)


def _numeric_string(value: Any, schema: dict[str, Any]) -> int | float | None:
    if not isinstance(value, str) or ("minimum" not in schema and "maximum" not in schema):
        return None
    try:
        return int(value) if len(value) < 4000 else None
    except ValueError:
        try:
            return float(value)
        except ValueError:
            return None


def _range_error(value: int | float, schema: dict[str, Any]) -> str | None:
    if "minimum" in schema and value < schema["minimum"]:
        return f"{_r(value)} is less than the minimum of {schema['minimum']}"
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return f"{_r(value)} is less than or equal to the minimum of {schema['exclusiveMinimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{_r(value)} is greater than the maximum of {schema['maximum']}"
    return None


def _container_error(value: Any, schema: dict[str, Any]) -> str | None:
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            return f"{_r(value)} is too short"
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            return f"{_r(value)} is too long"
        if schema.get("uniqueItems") and len({repr(v) for v in value}) != len(value):
            return f"{_r(value)} has non-unique elements"
    if isinstance(value, dict):
        return _object_own_errors(value, schema)
    return None


def _object_own_errors(value: dict[str, Any], schema: dict[str, Any]) -> str | None:
    for key in schema.get("required", []):
        if key not in value:
            return f"{key!r} is a required property"
    if "minProperties" in schema and len(value) < schema["minProperties"]:
        return f"{_r(value)} does not have enough properties"
    if "maxProperties" in schema and len(value) > schema["maxProperties"]:
        return f"{_r(value)} has too many properties"
    return None


def _object_errors(value: dict[str, Any], schema: dict[str, Any], path: tuple[Any, ...]) -> SchemaError | None:
    props = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    extra = []
    for key, item in value.items():
        matched = False
        if key in props:
            matched = True
            err = first_error(item, props[key], (*path, key))
            if err:
                return err
        for pat, sub in patterns.items():
            if re.search(pat, key):
                matched = True
                err = first_error(item, sub, (*path, key))
                if err:
                    return err
        if not matched:
            extra.append(key)
    addl = schema.get("additionalProperties", True)
    if extra and addl is False:
        if patterns and not props:
            return SchemaError(path, value, (
                f"{', '.join(repr(k) for k in sorted(extra))} do{'es' if len(extra) == 1 else ''} "
                f"not match any of the regexes: {', '.join(repr(p) for p in sorted(patterns))}"))
        listed = ", ".join(repr(k) for k in extra)
        verb = "was" if len(extra) == 1 else "were"
        return SchemaError(path, value, f"Additional properties are not allowed ({listed} {verb} unexpected)")
    if extra and isinstance(addl, dict):
        for key in extra:
            err = first_error(value[key], addl, (*path, key))
            if err:
                return err
    return None



def is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
