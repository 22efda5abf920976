"""The JSON schemas Glance serves at /v2/schemas/* and validates requests against.

``image`` is permissive: besides its declared properties, any other key is a free-form
property whose value must be a string (``additionalProperties: {"type": "string"}``).
The declared custom properties (kernel_id, ramdisk_id, ...) are those of Glance's
default ``schema-image.json`` and carry ``is_base: false`` as Glance marks them.
"""

from __future__ import annotations

import copy
import re
from typing import Any

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$")
STATUSES = ["queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated"]
VISIBILITIES = ["community", "public", "private", "shared"]
MEMBER_STATUSES = ["pending", "accepted", "rejected"]


def _ro(kind: Any, description: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": description, **extra}


def base_properties(disk_formats: list[str], container_formats: list[str]) -> dict[str, Any]:
    return {
        "id": {"type": "string", "description": "An identifier for the image", "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image",
                 "maxLength": 255},
        "status": _ro("string", "Status of the image", enum=STATUSES),
        "visibility": {"type": "string", "description": "Scope of image accessibility",
                       "enum": VISIBILITIES},
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean",
                      "description": "If true, image will not appear in default image list response."},
        "checksum": _ro(["null", "string"], "md5 hash of image contents.", maxLength=32),
        "os_hash_algo": _ro(["null", "string"], "Algorithm to calculate the os_hash_value",
                            maxLength=64),
        "os_hash_value": _ro(["null", "string"], "Hexdigest of the image contents using the algorithm "
                             "specified by the os_hash_algo", maxLength=128),
        "owner": {"type": ["null", "string"], "description": "Owner of the image", "maxLength": 255},
        "size": _ro(["null", "integer"], "Size of image file in bytes"),
        "virtual_size": _ro(["null", "integer"], "Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"], "description": "Format of the container",
                             "enum": [None, *container_formats]},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk",
                        "enum": [None, *disk_formats]},
        "created_at": _ro("string", "Date and time of image registration"),
        "updated_at": _ro("string", "Date and time of the last image modification"),
        "tags": {"type": "array", "description": "List of strings related to the image",
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": _ro("string", "URL to access the image file kept in external store"),
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer",
                     "description": "Amount of disk space (in GB) required to boot image."},
        "self": _ro("string", "An image self url"),
        "file": _ro("string", "An image file url"),
        "stores": _ro("string", "Store in which image data resides.  Only present when the operator "
                      "has enabled multiple stores.  May be a comma-separated list of store "
                      "identifiers."),
        "schema": _ro("string", "An image schema url"),
        "locations": {
            "type": "array",
            "items": {"type": "object",
                      "properties": {"url": {"type": "string", "maxLength": 255},
                                     "metadata": {"type": "object"}},
                      "required": ["url", "metadata"]},
            "description": "A set of URLs to access the image file kept in external store"},
    }


CUSTOM_PROPERTIES: dict[str, Any] = {
    "kernel_id": {"type": ["null", "string"], "pattern": UUID_PATTERN,
                  "description": "ID of image stored in Glance that should be used as the kernel when "
                                 "booting an AMI-style image.", "is_base": False},
    "ramdisk_id": {"type": ["null", "string"], "pattern": UUID_PATTERN,
                   "description": "ID of image stored in Glance that should be used as the ramdisk "
                                  "when booting an AMI-style image.", "is_base": False},
    "instance_uuid": {"type": "string", "is_base": False,
                      "description": "Metadata which can be used to record which instance this image "
                                     "is associated with. (Informational only, does not create an "
                                     "instance snapshot.)"},
    "architecture": {"type": "string", "is_base": False,
                     "description": "Operating system architecture as specified in "
                                    "https://docs.openstack.org/python-glanceclient/latest/cli/"
                                    "property-keys.html"},
    "os_distro": {"type": "string", "is_base": False,
                  "description": "Common name of operating system distribution as specified in "
                                 "https://docs.openstack.org/python-glanceclient/latest/cli/"
                                 "property-keys.html"},
    "os_version": {"type": "string", "is_base": False,
                   "description": "Operating system version as specified by the distributor."},
    "description": {"type": "string", "is_base": False,
                    "description": "A human-readable string describing this image."},
}


def image_schema(disk_formats: list[str], container_formats: list[str]) -> dict[str, Any]:
    props = base_properties(disk_formats, container_formats)
    props.update(copy.deepcopy(CUSTOM_PROPERTIES))
    return {"name": "image", "properties": props, "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def collection(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return {"name": name,
            "properties": {name: {"type": "array", "items": item}, "first": {"type": "string"},
                           "next": {"type": "string"}, "schema": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def member_schema() -> dict[str, Any]:
    return {"name": "member", "additionalProperties": False, "properties": {
        "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
        "image_id": {"type": "string", "description": "An identifier for the image",
                     "pattern": UUID_PATTERN},
        "created_at": {"type": "string", "description": "Date and time of image member creation"},
        "updated_at": {"type": "string",
                       "description": "Date and time of last modification of image member"},
        "status": {"type": "string", "description": "The status of this image member",
                   "enum": MEMBER_STATUSES},
        "schema": {"readOnly": True, "type": "string"},
    }}


# ------------------------------------------------------------------ validation

_TYPES: dict[str, Any] = {"string": str, "integer": int, "boolean": bool, "array": list,
                          "object": dict, "null": type(None), "number": (int, float)}


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def _where(path: list[Any]) -> str:
    return "".join(f"[{p!r}]" for p in path)


def problem(schema: dict[str, Any], value: Any, path: list[Any] | None = None) -> str | None:
    """The first way ``value`` breaks ``schema`` (the subset of JSON schema Glance's use), or None."""
    path = path or []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_is(value, k) for k in kinds):
            shown = kinds[0] if len(kinds) == 1 else kinds
            return f"{value!r} is not of type {shown!r}" + _on(path)
    if "enum" in schema and value not in schema["enum"]:
        return f"{value!r} is not one of {schema['enum']!r}" + _on(path)
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{value!r} is too long" + _on(path)
        if "minLength" in schema and len(value) < schema["minLength"]:
            return f"{value!r} is too short" + _on(path)
        if "pattern" in schema and not re.search(schema["pattern"], value):
            return f"{value!r} does not match {schema['pattern']!r}" + _on(path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{value!r} is less than the minimum of {schema['minimum']!r}" + _on(path)
        if "maximum" in schema and value > schema["maximum"]:
            return f"{value!r} is greater than the maximum of {schema['maximum']!r}" + _on(path)
    if isinstance(value, list) and schema.get("uniqueItems") and len(
            {repr(v) for v in value}) != len(value):
        return f"{value!r} has non-unique elements" + _on(path)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            err = problem(schema["items"], item, [*path, i])
            if err:
                return err
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            if key not in value:
                return f"{key!r} is a required property" + _on(path)
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                err = problem(props[key], item, [*path, key])
            elif extra is False:
                return f"Additional properties are not allowed ({key!r} was unexpected)" + _on(path)
            elif isinstance(extra, dict):
                err = problem(extra, item, [*path, key])
            else:
                err = None
            if err:
                return err
    return None


def _on(path: list[Any]) -> str:
    return f"\n\nOn instance{_where(path)}" if path else ""
