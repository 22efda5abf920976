"""Request body and query schemas, chosen per microversion."""

from __future__ import annotations

import copy
from typing import Any

MAX_INT = 2147483647
FLOAT_MAX = 3.40282e38
RC_NAME = {"type": "string", "pattern": "^[A-Z0-9_]+$", "maxLength": 255}
CUSTOM_RC = {"type": "string", "pattern": "^CUSTOM_[A-Z0-9_]+$", "maxLength": 255}
UUID = {"type": "string", "format": "uuid"}
GENERATION = {"type": "integer"}

PROVIDER_POST = {"type": "object", "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "uuid": UUID}, "required": ["name"], "additionalProperties": False}
PROVIDER_PUT = {"type": "object", "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 200}},
    "required": ["name"], "additionalProperties": False}


def provider_post(v: tuple[int, int]) -> dict[str, Any]:
    s = copy.deepcopy(PROVIDER_POST)
    if v >= (1, 14):
        s["properties"]["parent_provider_uuid"] = {"anyOf": [UUID, {"type": "null"}]}
    return s


def provider_put(v: tuple[int, int]) -> dict[str, Any]:
    s = copy.deepcopy(PROVIDER_PUT)
    if v >= (1, 14):
        s["properties"]["parent_provider_uuid"] = {"anyOf": [UUID, {"type": "null"}]}
    return s


INVENTORY_FIELDS = {
    "total": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "reserved": {"type": "integer", "maximum": MAX_INT, "minimum": 0},
    "min_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "max_unit": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "step_size": {"type": "integer", "maximum": MAX_INT, "minimum": 1},
    "allocation_ratio": {"type": "number", "maximum": FLOAT_MAX, "exclusiveMinimum": 0},
}
INVENTORY = {"type": "object", "properties": INVENTORY_FIELDS, "required": ["total"],
             "additionalProperties": False}
INVENTORY_ONE = {"type": "object", "properties": {**INVENTORY_FIELDS,
                                                  "resource_provider_generation": GENERATION},
                 "required": ["total", "resource_provider_generation"], "additionalProperties": False}
INVENTORY_POST = {"type": "object", "properties": {**INVENTORY_FIELDS, "resource_class": RC_NAME,
                                                   "resource_provider_generation": GENERATION},
                  "required": ["total", "resource_class", "resource_provider_generation"],
                  "additionalProperties": False}
INVENTORIES = {"type": "object", "properties": {
    "resource_provider_generation": GENERATION,
    "inventories": {"type": "object", "patternProperties": {"^[A-Z0-9_]+$": INVENTORY},
                    "additionalProperties": False}},
    "required": ["resource_provider_generation", "inventories"], "additionalProperties": False}

TRAITS_PUT = {"type": "object", "properties": {
    "traits": {"type": "array", "items": {"type": "string", "pattern": "^[A-Z0-9_]+$", "maxLength": 255},
               "uniqueItems": True},
    "resource_provider_generation": GENERATION},
    "required": ["traits", "resource_provider_generation"], "additionalProperties": False}

AGGREGATE_LIST = {"type": "array", "items": UUID, "uniqueItems": True}
AGGREGATES_1_19 = {"type": "object", "properties": {
    "aggregates": AGGREGATE_LIST, "resource_provider_generation": GENERATION},
    "required": ["aggregates", "resource_provider_generation"], "additionalProperties": False}

RESOURCE_CLASS = {"type": "object", "properties": {"name": CUSTOM_RC}, "required": ["name"],
                  "additionalProperties": False}

RESOURCES = {"type": "object", "minProperties": 1,
             "patternProperties": {"^[0-9A-Z_]+$": {"type": "integer", "minimum": 1}},
             "additionalProperties": False}
CONSUMER_TYPE = {"type": "string", "pattern": "^[A-Z0-9_]+$", "maxLength": 255}
PROJECT_USER = {"type": "string", "minLength": 1, "maxLength": 255}


def allocations_put(v: tuple[int, int]) -> dict[str, Any]:
    if v < (1, 12):
        item = {"type": "object", "properties": {
            "resource_provider": {"type": "object", "properties": {"uuid": UUID}, "required": ["uuid"],
                                  "additionalProperties": False},
            "resources": RESOURCES}, "required": ["resource_provider", "resources"],
            "additionalProperties": False}
        allocs: dict[str, Any] = {"type": "array", "minItems": 1, "items": item}
    else:
        # From 1.28 (consumer generations) an empty object removes the consumer's allocations.
        allocs = {"type": "object", "minProperties": 0 if v >= (1, 28) else 1, "patternProperties": {
            "^[0-9a-fA-F-]{32,36}$": {"type": "object", "properties": {
                "resources": RESOURCES, "generation": GENERATION}, "required": ["resources"],
                "additionalProperties": False}}, "additionalProperties": False}
    s: dict[str, Any] = {"type": "object", "properties": {"allocations": allocs}, "required": ["allocations"],
                         "additionalProperties": False}
    if v >= (1, 8):
        s["properties"].update(project_id=PROJECT_USER, user_id=PROJECT_USER)
        s["required"] += ["project_id", "user_id"]
    if v >= (1, 28):
        s["properties"]["consumer_generation"] = {"type": ["integer", "null"]}
        s["required"].append("consumer_generation")
    if v >= (1, 38):
        s["properties"]["consumer_type"] = CONSUMER_TYPE
        s["required"].append("consumer_type")
    return s


def allocations_post(v: tuple[int, int]) -> dict[str, Any]:
    one = allocations_put(max(v, (1, 12)))
    one["properties"]["allocations"] = dict(one["properties"]["allocations"])
    one["properties"]["allocations"].pop("minProperties", None)   # empty: remove the consumer's
    return {"type": "object", "minProperties": 1,
            "patternProperties": {"^[0-9a-fA-F-]{32,36}$": one}, "additionalProperties": False}


def reshaper(v: tuple[int, int]) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "inventories": {"type": "object", "patternProperties": {"^[0-9a-fA-F-]{32,36}$": {
            "type": "object", "properties": {
                "resource_provider_generation": GENERATION,
                "inventories": {"type": "object", "patternProperties": {"^[A-Z0-9_]+$": INVENTORY},
                                "additionalProperties": False}},
            "required": ["resource_provider_generation", "inventories"], "additionalProperties": False}},
            "additionalProperties": False},
        "allocations": allocations_post(v)},
        "required": ["inventories", "allocations"], "additionalProperties": False}
