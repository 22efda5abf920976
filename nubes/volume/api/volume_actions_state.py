"""The volume actions that change a volume's size, flags, status, type or contents, and its image
metadata: os-extend, os-set_bootable, os-update_readonly_flag, os-reset_status, os-retype,
revert (3.40), os-set_image_metadata, os-unset_image_metadata, os-show_image_metadata; and the
snapshot's os-reset_status. Bodies and codes are Cinder's."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c
from nubes.volume.service.volume_actions import MIGRATION_STATUSES, SNAPSHOT_STATUSES, VOLUME_STATUSES

SIZE = {"type": ["integer", "string"], "pattern": r"^[0-9]+$", "minimum": 1, "maximum": 2**31 - 1}
EXTEND = {"type": "object", "required": ["new_size"], "properties": {"new_size": SIZE},
          "additionalProperties": False}
BOOTABLE = {"type": "object", "required": ["bootable"], "properties": {"bootable": c.BOOLEAN},
            "additionalProperties": False}
READONLY = {"type": "object", "required": ["readonly"], "properties": {"readonly": c.BOOLEAN},
            "additionalProperties": False}
RESET = {"type": "object", "properties": {
    "status": {"type": "string", "enum": list(VOLUME_STATUSES)},
    "attach_status": {"type": "string", "enum": ["attached", "detached"]},
    "migration_status": {"type": "string", "enum": list(MIGRATION_STATUSES)}}, "additionalProperties": False}
SNAPSHOT_RESET = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "string", "enum": list(SNAPSHOT_STATUSES)}}, "additionalProperties": False}
RETYPE = {"type": "object", "required": ["new_type"], "properties": {
    "new_type": {"type": "string", "minLength": 1, "maxLength": 255},
    "migration_policy": {"type": ["string", "null"], "enum": ["never", "on-demand", None]}},
    "additionalProperties": False}
REVERT = {"type": "object", "required": ["snapshot_id"], "properties": {
    "snapshot_id": {"type": "string", "minLength": 1, "maxLength": 255}}, "additionalProperties": False}
IMAGE_META = {"type": "object", "required": ["metadata"], "properties": {"metadata": c.METADATA},
              "additionalProperties": False}
IMAGE_UNSET = {"type": "object", "required": ["key"], "properties": {
    "key": {"type": "string", "minLength": 1, "maxLength": 255}}, "additionalProperties": False}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].actions


async def _authorize(req: Request, rule: str) -> set[str] | None:
    from nubes.volume.api.volumes import _owned

    return await _owned(req, rule)


def _vid(req: Request) -> str:
    return req.path_params["volume_id"]


async def extend(req: Request, arg: Any):
    body = c.validate(arg, EXTEND)
    see = await _authorize(req, "volume:extend")
    view = await req.rt.extra["volume"].volumes.show(_vid(req), see)
    allow_in_use = req.ctx.api_version >= (3, 42)
    if view.row.status == "in-use" and allow_in_use:
        req.ctx.can("volume:extend_attached_volume", {"project_id": view.row.project_id,
                                                      "user_id": view.row.user_id})
    await _svc(req).extend(_vid(req), see, int(body["new_size"]), allow_in_use=allow_in_use)
    return empty_response(202)


async def set_bootable(req: Request, arg: Any):
    body = c.validate(arg, BOOTABLE)
    see = await _authorize(req, "volume:update")
    await _svc(req).set_bootable(_vid(req), see, c.as_bool(body["bootable"]))
    return empty_response(200)


async def update_readonly(req: Request, arg: Any):
    body = c.validate(arg, READONLY)
    see = await _authorize(req, "volume:update_readonly_flag")
    await _svc(req).set_readonly(_vid(req), see, c.as_bool(body["readonly"]))
    return empty_response(202)


async def reset_status(req: Request, arg: Any):
    body = c.validate(arg, RESET)
    await _authorize(req, "volume_extension:volume_admin_actions:reset_status")
    if not body:
        raise exc.BadRequest("Must specify 'status', 'attach_status' or 'migration_status' for update.")
    await _svc(req).reset_status(_vid(req), body)
    return empty_response(202)


async def retype(req: Request, arg: Any):
    body = c.validate(arg, RETYPE)
    see = await _authorize(req, "volume:retype")
    await _svc(req).retype(_vid(req), see, req.ctx, body["new_type"], body.get("migration_policy") or "never")
    return empty_response(202)


async def revert(req: Request, arg: Any):
    if req.ctx.api_version < (3, 40):
        raise exc.NotFound(f"Version {req.ctx.api_version[0]}.{req.ctx.api_version[1]} does not have the "
                           "revert action; it needs microversion 3.40.")
    body = c.validate(arg, REVERT)
    see = await _authorize(req, "volume:revert_to_snapshot")
    await _svc(req).revert(_vid(req), see, body["snapshot_id"])
    return empty_response(202)


async def show_image_metadata(req: Request, arg: Any):
    see = await _authorize(req, "volume_extension:volume_image_metadata:show")
    return json_response({"metadata": await _svc(req).image_metadata(_vid(req), see)})


async def set_image_metadata(req: Request, arg: Any):
    body = c.validate(arg, IMAGE_META)
    see = await _authorize(req, "volume_extension:volume_image_metadata:set")
    return json_response({"metadata": await _svc(req).set_image_metadata(_vid(req), see, body["metadata"])})


async def unset_image_metadata(req: Request, arg: Any):
    body = c.validate(arg, IMAGE_UNSET)
    see = await _authorize(req, "volume_extension:volume_image_metadata:remove")
    await _svc(req).unset_image_metadata(_vid(req), see, body["key"])
    return empty_response(200)


async def reset_snapshot_status(req: Request, arg: Any):
    from nubes.volume.api.snapshots import _owned

    body = c.validate(arg, SNAPSHOT_RESET)
    await _owned(req, "volume_extension:snapshot_admin_actions:reset_status")
    await _svc(req).reset_snapshot_status(req.path_params["snapshot_id"], body["status"])
    return empty_response(202)


HANDLERS = {"os-extend": extend, "os-set_bootable": set_bootable, "os-update_readonly_flag": update_readonly,
            "os-reset_status": reset_status, "os-retype": retype, "revert": revert,
            "os-show_image_metadata": show_image_metadata, "os-set_image_metadata": set_image_metadata,
            "os-unset_image_metadata": unset_image_metadata}
SNAPSHOT_HANDLERS = {"os-reset_status": reset_snapshot_status}
