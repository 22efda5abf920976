"""Handlers for /attachments (3.27+; os-complete 3.44; mode 3.54): the attach flow compute uses."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c
from nubes.volume.db.models import VolumeAttachment

CONNECTOR = {"type": ["object", "null"]}
CREATE = {"type": "object", "required": ["attachment"], "properties": {"attachment": {
    "type": "object", "required": ["volume_uuid"], "properties": {
        "volume_uuid": {"type": "string", "minLength": 1, "maxLength": 36},
        "instance_uuid": {"type": ["string", "null"], "maxLength": 36},
        "connector": CONNECTOR, "mode": {"type": "string", "enum": ["rw", "ro"]}},
    "additionalProperties": False}}, "additionalProperties": False}
UPDATE = {"type": "object", "required": ["attachment"], "properties": {"attachment": {
    "type": "object", "required": ["connector"], "properties": {"connector": {"type": "object"}},
    "additionalProperties": False}}, "additionalProperties": False}
FILTERS = ("volume_id", "instance_id", "instance_uuid", "status", "attach_status", "attached_host")


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].attachments


def summary(a: VolumeAttachment) -> dict[str, Any]:
    return {"id": a.id, "status": a.attach_status, "instance": a.instance_uuid, "volume_id": a.volume_id}


def detail(a: VolumeAttachment) -> dict[str, Any]:
    return {**summary(a), "attached_at": c.isotime(a.attach_time), "detached_at": c.isotime(a.detach_time),
            "attach_mode": a.attach_mode, "connection_info": a.connection_info or {}}


async def _owned(req: Request, rule: str) -> set[str] | None:
    see = c.owned(req)
    aid = req.path_params["attachment_id"]
    owner = await _svc(req).owner(aid)
    if see is not None and owner["project_id"] not in see:
        from nubes.volume.service.attachments import AttachmentNotFound

        raise AttachmentNotFound(aid)
    req.ctx.can(rule, owner)
    return see


async def _list(req: Request, view: Any):
    see = c.visible_projects(req, "volume:get_all_tenants")
    req.ctx.can("volume:attachment_get_all", c.target(req))
    limit, marker = c.limit_marker(req, 1000)
    filters = {k: req.query_params[k] for k in FILTERS if k in req.query_params}
    rows = await _svc(req).list(see, filters, limit, marker)
    return json_response({"attachments": [view(a) for a in rows]})


async def list_attachments(req: Request):
    return await _list(req, summary)


async def list_attachments_detail(req: Request):
    return await _list(req, detail)


async def show_attachment(req: Request):
    see = await _owned(req, "volume:attachment_get")
    return json_response({"attachment": detail(await _svc(req).show(req.path_params["attachment_id"], see))})


async def create_attachment(req: Request):
    body = c.validate(await read_json(req), CREATE)["attachment"]
    if "mode" in body and req.ctx.api_version < (3, 54):
        raise exc.BadRequest("Invalid input for field/attribute attachment. Value: mode. Additional properties "
                             "are not allowed ('mode' was unexpected)")
    see = c.owned(req)
    volumes = req.rt.extra["volume"].volumes
    owner = await volumes.owner(body["volume_uuid"])
    if see is not None and owner["project_id"] not in see:
        raise exc.VolumeNotFound(body["volume_uuid"])
    req.ctx.can("volume:attachment_create", owner)
    att = await _svc(req).create(body["volume_uuid"], see, body.get("instance_uuid"), body.get("connector"),
                                 body.get("mode", "rw"))
    return json_response({"attachment": detail(att)})


async def update_attachment(req: Request):
    body = c.validate(await read_json(req), UPDATE)["attachment"]
    see = await _owned(req, "volume:attachment_update")
    att = await _svc(req).update(req.path_params["attachment_id"], see, body["connector"])
    return json_response({"attachment": detail(att)})


async def delete_attachment(req: Request):
    see = await _owned(req, "volume:attachment_delete")
    svc = _svc(req)
    att = await svc.show(req.path_params["attachment_id"], see)
    await svc.delete(att.id, see)
    left = await svc.list(see, {"volume_id": att.volume_id}, None, None)
    return json_response({"attachments": [summary(a) for a in left]})


async def attachment_action(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or list(body) != ["os-complete"]:
        raise exc.BadRequest("There is no such action: the attachment actions are os-complete.")
    see = await _owned(req, "volume:attachment_complete")
    await _svc(req).complete(req.path_params["attachment_id"], see)
    return empty_response(204)
