"""The schemas of metadata definitions: served at /v2/schemas/metadefs/* (with Glance's
``definitions`` and ``$ref``s) and used, resolved, to validate request bodies."""

from __future__ import annotations

import copy
from typing import Any

from nubes.image.service.schemas import collection

TYPES = ["array", "boolean", "integer", "number", "object", "string", None]
_COUNT = {"type": "integer", "minimum": 0}
_STRINGS = {"type": "array", "items": {"type": "string"}, "uniqueItems": True}


def _stamp(what: str) -> dict[str, Any]:
    return {"created_at": {"type": "string", "readOnly": True, "format": "date-time",
                           "description": f"Date and time of {what} creation"},
            "updated_at": {"type": "string", "readOnly": True, "format": "date-time",
                           "description": f"Date and time of the last {what} modification"}}


def property_fields() -> dict[str, Any]:
    """What one property definition may say (a subset of JSON schema, as Glance's)."""
    return {
        "name": {"type": "string", "maxLength": 80},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "operators": {"type": "array", "items": {"type": "string"}},
        "type": {"type": ["string", "null"], "enum": TYPES},
        "required": copy.deepcopy(_STRINGS),
        "minimum": {"type": "number"},
        "maximum": {"type": "number"},
        "maxLength": copy.deepcopy(_COUNT),
        "minLength": copy.deepcopy(_COUNT),
        "pattern": {"type": "string", "format": "regex"},
        "enum": {"type": "array"},
        "readonly": {"type": "boolean"},
        "default": {},
        "items": {"type": "object", "properties": {"type": {"type": ["string", "null"], "enum": TYPES},
                                                   "enum": {"type": "array"}}},
        "maxItems": copy.deepcopy(_COUNT),
        "minItems": copy.deepcopy(_COUNT),
        "uniqueItems": {"type": "boolean"},
        "additionalItems": {"type": "boolean"},
    }


def _definition() -> dict[str, Any]:
    return {"type": "object", "required": ["title", "type"], "properties": property_fields()}


def _properties_map() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": _definition()}


_ASSOC = {"name": {"type": "string", "maxLength": 80,
                   "description": "Resource type names should be aligned with Heat resource types "
                                  "whenever possible (OS::Nova::Server, OS::Glance::Image ...)"},
          "prefix": {"type": "string", "maxLength": 80,
                     "description": "Prefix of the namespace's property names on this resource type "
                                    "(hw_ on images, hw: on flavors)"},
          "properties_target": {"type": "string", "maxLength": 80,
                                "description": "Where the properties go on resources of this type "
                                               "that keep several sets (a volume's image properties)"}}


def _object_fields(resolved: bool) -> dict[str, Any]:
    props = _properties_map() if resolved else {"$ref": "#/definitions/property"}
    return {"name": {"type": "string", "maxLength": 80}, "description": {"type": "string"},
            "required": copy.deepcopy(_STRINGS) if resolved else {"$ref": "#/definitions/stringArray"},
            "properties": props}


def _namespace_fields(resolved: bool) -> dict[str, Any]:
    return {
        "namespace": {"type": "string", "maxLength": 80, "description": "The unique namespace text."},
        "display_name": {"type": "string", "maxLength": 80,
                         "description": "The user friendly name for the namespace. Used by UI if available."},
        "description": {"type": "string", "maxLength": 500,
                        "description": "Provides a user friendly description of the namespace."},
        "visibility": {"type": "string", "enum": ["public", "private"],
                       "description": "Scope of namespace accessibility."},
        "protected": {"type": "boolean", "description": "If true, namespace will not be deletable."},
        "owner": {"type": "string", "maxLength": 255, "description": "Owner of the namespace."},
        **_stamp("namespace"),
        "schema": {"type": "string", "readOnly": True},
        "self": {"type": "string", "readOnly": True},
        "resource_type_associations": {"type": "array",
                                       "items": {"type": "object", "properties": copy.deepcopy(_ASSOC)}},
        "properties": _properties_map() if resolved else {"$ref": "#/definitions/property"},
        "objects": {"type": "array", "items": {"type": "object", "properties": _object_fields(resolved)}},
        "tags": {"type": "array", "items": {"type": "object",
                                            "properties": {"name": {"type": "string", "maxLength": 80}}}},
    }


def _definitions() -> dict[str, Any]:
    return {"positiveInteger": {"type": "integer", "minimum": 0},
            "positiveIntegerDefault0": {"allOf": [{"$ref": "#/definitions/positiveInteger"}, {"default": 0}]},
            "stringArray": copy.deepcopy(_STRINGS),
            "property": _properties_map()}


# ------------------------------------------------------------------ served

def namespace() -> dict[str, Any]:
    return {"name": "namespace", "properties": _namespace_fields(False), "required": ["namespace"],
            "additionalProperties": False, "definitions": _definitions(),
            "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}]}


def obj() -> dict[str, Any]:
    return {"name": "object", "properties": {**_object_fields(False), **_stamp("object"),
                                             "schema": {"type": "string", "readOnly": True},
                                             "self": {"type": "string", "readOnly": True}},
            "required": ["name"], "additionalProperties": False, "definitions": _definitions(),
            "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}]}


def prop() -> dict[str, Any]:
    fields = property_fields()
    fields["name"]["description"] = "The name of the property"
    return {"name": "property", "properties": fields, "required": ["name", "title", "type"],
            "additionalProperties": False, "definitions": _definitions()}


def tag() -> dict[str, Any]:
    return {"name": "tag", "properties": {"name": {"type": "string", "maxLength": 80}, **_stamp("tag")},
            "required": ["name"], "additionalProperties": False}


def resource_type() -> dict[str, Any]:
    return {"name": "resource_type_association",
            "properties": {**copy.deepcopy(_ASSOC), **_stamp("resource type association")},
            "required": ["name"], "additionalProperties": False}


def served(name: str) -> dict[str, Any] | None:
    """The schema at /v2/schemas/metadefs/{name}, None for a name Glance has none for."""
    one = {"namespace": namespace, "object": obj, "property": prop, "tag": tag,
           "resource_type": resource_type}
    if name in one:
        return one[name]()
    if name == "properties":
        return {"name": "properties", "properties": {
            "properties": {"type": "object", "additionalProperties": _definition()},
            "first": {"type": "string"}, "next": {"type": "string"}, "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}], "definitions": _definitions()}
    many = {"namespaces": ("namespaces", namespace), "objects": ("objects", obj), "tags": ("tags", tag),
            "resource_types": ("resource_type_associations", resource_type)}
    if name in many:
        key, item = many[name]
        return collection(key, item())
    return None


# ------------------------------------------------------------------ validation (no $refs)
# As the served schemas: no other keys at the top (what clients validating responses against
# the served schemas, as glanceclient does, would refuse to read back).

def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def namespace_body() -> dict[str, Any]:
    return _body(_namespace_fields(True), ["namespace"])


def object_body() -> dict[str, Any]:
    return _body({**_object_fields(True), **_stamp("object")}, ["name"])


def property_body() -> dict[str, Any]:
    return _body(property_fields(), ["name", "title", "type"])


def association_body() -> dict[str, Any]:
    return _body({**copy.deepcopy(_ASSOC), **_stamp("resource type association")}, ["name"])


def tag_body() -> dict[str, Any]:
    return _body({"name": {"type": "string", "maxLength": 80}, **_stamp("tag")}, ["name"])
