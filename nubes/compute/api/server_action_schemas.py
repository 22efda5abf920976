"""Request schemas of the server actions per microversion (Nova's ``schemas/servers.py``,
``lock_server.py``, ``rescue.py``, ``shelve.py``, ``migrate_server.py``..., as facts)."""

from __future__ import annotations

from typing import Any

from nubes.compute.api import validation as v
from nubes.compute.api.server_schemas import (
    DISK_CONFIG,
    FLAVOR_REF,
    HOSTNAME,
    METADATA,
    SERVER_DESCRIPTION,
    UUID,
    FQDN,
)

Version = tuple[int, int]
IMAGE_REF = {"anyOf": [UUID, {"type": "string", "pattern": "/"}]}
ADMIN_PASSWORD = {"type": "string"}
ACCESS_IP = {"type": ["string", "null"]}
HOST = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
        "pattern": r"^[a-zA-Z0-9-._]*$"}


def _obj(props: dict[str, Any], required: list[str] | None = None, nullable: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": ["object", "null"] if nullable else "object", "properties": props,
                           "additionalProperties": False}
    if required:
        out["required"] = required
    return out


REBOOT = _obj({"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}}, ["type"])
RESET_STATE = _obj({"state": {"type": "string", "enum": ["active", "error"]}}, ["state"])
LOCK_2_73 = _obj({"locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}}, nullable=True)
RESCUE = _obj({"adminPass": ADMIN_PASSWORD, "rescue_image_ref": UUID}, nullable=True)
CREATE_IMAGE = _obj({"name": v.NAME, "metadata": METADATA}, ["name"])
RESIZE = _obj({"flavorRef": FLAVOR_REF, "OS-DCF:diskConfig": DISK_CONFIG}, ["flavorRef"])
MIGRATE_2_56 = _obj({"host": HOST}, nullable=True)
CONSOLE_OUTPUT = _obj({"length": {"type": ["integer", "string", "null"], "pattern": r"^-?[0-9]+$",
                                  "minimum": -1}}, nullable=True)


def rebuild(version: Version) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": v.NAME, "imageRef": IMAGE_REF, "adminPass": ADMIN_PASSWORD, "metadata": METADATA,
        "preserve_ephemeral": v.BOOLEAN, "OS-DCF:diskConfig": DISK_CONFIG, "accessIPv4": ACCESS_IP,
        "accessIPv6": ACCESS_IP}
    if version < (2, 57):
        props["personality"] = {"type": "array", "items": {"type": "object", "properties": {
            "path": {"type": "string"}, "contents": {"type": "string"}}, "additionalProperties": False}}
    if version >= (2, 19):
        props["description"] = SERVER_DESCRIPTION
    if version >= (2, 54):
        props["key_name"] = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                             "pattern": r"^(?![\s])[^\x00-\x1f]*(?<![\s])$"}
    if version >= (2, 57):
        props["user_data"] = {"type": ["string", "null"], "maxLength": 65535}
    if version >= (2, 63):
        props["trusted_image_certificates"] = {"type": ["array", "null"], "minItems": 1, "maxItems": 50,
                                               "uniqueItems": True, "items": {"type": "string", "minLength": 1}}
    if version >= (2, 90):
        props["hostname"] = FQDN if version >= (2, 94) else HOSTNAME
    return _obj(props, ["imageRef"])


def unshelve(version: Version) -> dict[str, Any] | None:
    if version < (2, 77):
        return None
    if version < (2, 91):
        return _obj({"availability_zone": v.NAME}, nullable=True)
    zone = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
            "pattern": r"^(?![\s])[^\x00-\x1f]*(?<![\s])$"}
    return _obj({"availability_zone": zone, "host": HOST}, nullable=True)


def migrate_live(version: Version) -> dict[str, Any]:
    if version < (2, 25):
        return _obj({"block_migration": v.BOOLEAN, "disk_over_commit": v.BOOLEAN, "host": HOST},
                    ["block_migration", "disk_over_commit", "host"])
    props: dict[str, Any] = {"block_migration": {"anyOf": [v.BOOLEAN, {"type": "string", "enum": ["auto"]}]},
                             "host": HOST}
    if (2, 30) <= version < (2, 68):
        props["force"] = v.BOOLEAN
    return _obj(props, ["block_migration", "host"])


def action(name: str, schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The whole body ``{"<name>": <schema>}``."""
    if schema is None:
        return None
    return {"type": "object", "required": [name], "additionalProperties": False, "properties": {name: schema}}
