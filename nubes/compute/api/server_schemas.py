"""Request schemas of /servers per microversion (Nova's ``schemas/servers.py``, as facts)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute.api import validation as v

Version = tuple[int, int]

UUID = {"type": "string", "format": "uuid"}
METADATA = {"type": "object", "patternProperties": {r"^[a-zA-Z0-9-_:. ]{1,255}$":
                                                     {"type": "string", "maxLength": 255}},
            "additionalProperties": False}
TAG = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": r"^[^,/]*$"}
TAGS = {"type": "array", "items": TAG, "maxItems": 50}
HOSTNAME = {"type": "string", "minLength": 2, "maxLength": 63,
            "pattern": r"^[a-zA-Z0-9]+[a-zA-Z0-9-._]*[a-zA-Z0-9]+$"}
FQDN = {"type": "string", "minLength": 2, "maxLength": 255,
        "pattern": r"^[a-zA-Z0-9]+[a-zA-Z0-9-._]*[a-zA-Z0-9]+$"}
SERVER_DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 255,
                      "pattern": r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$"}
IMAGE_REF = {"anyOf": [UUID, {"type": "string", "maxLength": 0}, {"type": "string", "pattern": "/"}]}
FLAVOR_REF = {"type": ["string", "integer"], "minLength": 1}
DISK_CONFIG = {"type": "string", "enum": ["AUTO", "MANUAL"]}
ACCESS_IP = {"type": ["string", "null"]}


def _bdm(version: Version) -> dict[str, Any]:
    props: dict[str, Any] = {
        "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9._-]*$"},
        "image_id": UUID, "volume_id": UUID, "snapshot_id": UUID,
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "guest_format": {"type": "string", "maxLength": 255},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        "boot_index": {"type": ["integer", "string", "null"], "pattern": r"^-?[0-9]+$"},
        "volume_size": {"type": ["integer", "string", "null"], "pattern": r"^[0-9]+$", "minimum": 0},
        "delete_on_termination": v.BOOLEAN,
        "device_name": {"type": "string", "minLength": 1, "maxLength": 255,
                        "pattern": r"^[a-zA-Z0-9._/-]*$"},
        "no_device": {}, "connection_info": {"type": "string", "maxLength": 16777215},
    }
    if version >= (2, 42) or (2, 32) <= version < (2, 33):
        props["tag"] = {"type": "string", "maxLength": 60, "pattern": r"^[^,/]*$"}
    if version >= (2, 67):
        props["volume_type"] = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
    return {"type": "object", "properties": props, "additionalProperties": False}


def _networks(version: Version) -> dict[str, Any]:
    item: dict[str, Any] = {"fixed_ip": {"type": "string"}, "port": {"type": ["string", "null"]},
                            "uuid": UUID if version >= (2, 37) else {"type": "string"}}
    if version >= (2, 32):
        item["tag"] = {"type": "string", "maxLength": 60, "pattern": r"^[^,/]*$"}
    listed = {"type": "array", "items": {"type": "object", "properties": item, "additionalProperties": False}}
    if version < (2, 37):
        return listed
    return {"anyOf": [listed, {"type": "string", "enum": ["none", "auto"]}]}


HINTS = {"type": "object", "properties": {
    "group": UUID,
    "same_host": {"type": ["string", "array"], "items": UUID, "format": "uuid"},
    "different_host": {"type": ["string", "array"], "items": UUID, "format": "uuid"},
    "query": {"type": ["string", "object"]},
    "target_cell": v.NAME, "different_cell": {"type": ["string", "array"]},
    "build_near_host_ip": {"type": "string"}, "cidr": {"type": "string"}},
    "additionalProperties": True}


def create(version: Version) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": v.NAME, "imageRef": IMAGE_REF, "flavorRef": FLAVOR_REF, "adminPass": {"type": "string"},
        "metadata": METADATA, "networks": _networks(version), "OS-DCF:diskConfig": DISK_CONFIG,
        "accessIPv4": ACCESS_IP, "accessIPv6": ACCESS_IP, "availability_zone": v.NAME,
        "block_device_mapping_v2": {"type": "array", "items": _bdm(version)},
        "config_drive": v.BOOLEAN, "key_name": v.NAME,
        "min_count": v.positive_integer(), "max_count": v.positive_integer(),
        "return_reservation_id": v.BOOLEAN,
        "security_groups": {"type": "array", "items": {"type": "object", "properties": {"name": v.NAME},
                                                       "additionalProperties": False}},
        "user_data": {"type": "string", "maxLength": 65535},
    }
    if version < (2, 57):
        props["personality"] = {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "contents": {"type": "string"}}, "additionalProperties": False}}
    if version >= (2, 19):
        props["description"] = SERVER_DESCRIPTION
    if version >= (2, 52):
        props["tags"] = TAGS
    if version >= (2, 63):
        props["trusted_image_certificates"] = {"type": ["array", "null"], "minItems": 1, "maxItems": 50,
                                               "uniqueItems": True, "items": {"type": "string", "minLength": 1}}
    if version >= (2, 74):
        props["host"] = v.NAME
        props["hypervisor_hostname"] = v.NAME
    if version >= (2, 90):
        props["hostname"] = FQDN if version >= (2, 94) else HOSTNAME
    required = ["name", "flavorRef"] + (["networks"] if version >= (2, 37) else [])
    return {"type": "object", "required": ["server"], "additionalProperties": False, "properties": {
        "server": {"type": "object", "required": required, "additionalProperties": False, "properties": props},
        "os:scheduler_hints": HINTS, "OS-SCH-HNT:scheduler_hints": HINTS}}


def update(version: Version) -> dict[str, Any]:
    props: dict[str, Any] = {"name": v.NAME, "OS-DCF:diskConfig": DISK_CONFIG, "accessIPv4": ACCESS_IP,
                             "accessIPv6": ACCESS_IP}
    if version >= (2, 19):
        props["description"] = SERVER_DESCRIPTION
    if version >= (2, 90):
        props["hostname"] = FQDN if version >= (2, 94) else HOSTNAME
    return {"type": "object", "required": ["server"], "additionalProperties": False, "properties": {
        "server": {"type": "object", "additionalProperties": False, "properties": props}}}


def _invalid(field: str, value: Any, kind: str) -> exc.BadRequest:
    return exc.BadRequest(f"Invalid input for field/attribute {field}. Value: {value}. "
                          f"'{value}' is not a '{kind}'")


def check_formats(server: dict[str, Any]) -> None:
    """The formats the schema subset leaves out: IP addresses and base64. The access addresses are
    kept in their canonical text (an IPv6 one compressed, lower case), as Nova stores them."""
    for field, kind, cls in (("accessIPv4", "ipv4", ipaddress.IPv4Address),
                             ("accessIPv6", "ipv6", ipaddress.IPv6Address)):
        value = server.get(field)
        if value:
            try:
                server[field] = str(cls(value))
            except ValueError:
                raise _invalid(field, value, kind) from None
    for net in server.get("networks") if isinstance(server.get("networks"), list) else []:
        if net.get("fixed_ip"):
            try:
                ipaddress.ip_address(net["fixed_ip"])
            except ValueError:
                raise exc.BadRequest(f"Invalid input for field/attribute fixed_ip. Value: {net['fixed_ip']}. "
                                     f"'{net['fixed_ip']}' is not a 'ipv4' or 'ipv6'") from None
        if net.get("port") and not v_uuid(net["port"]):
            raise _invalid("port", net["port"], "uuid")
    if server.get("user_data") is not None:
        try:
            base64.b64decode(server["user_data"], validate=True)
        except (binascii.Error, ValueError):
            raise _invalid("user_data", server["user_data"], "base64") from None


def v_uuid(value: str) -> bool:
    from nubes.core.api.jsonschema import is_uuid

    return is_uuid(value)
