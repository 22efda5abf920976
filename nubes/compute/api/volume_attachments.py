"""Handlers for /servers/{id}/os-volume_attachments[/{volume_id}] (Nova's volume attachments):
list, show, attach (POST) and detach (DELETE) through block storage's attachments API
(``service/server_volumes.py``); PUT updates ``delete_on_termination`` from 2.85. Swapping a volume
(PUT with another ``volumeId``) answers 501 (docs/api-coverage.md)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.exceptions import NotImplementedYet
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.api.server_schemas import UUID

VA = f"{authz.P}:os-volumes-attachments"
QUERY = {"type": "object", "properties": {"limit": v.positive_integer(0), "offset": v.positive_integer(0)}}
DEVICE = {"type": ["string", "null"], "pattern": r"(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}


def _create_schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"volumeId": UUID, "device": DEVICE}
    if version >= (2, 49):
        props["tag"] = {"type": "string", "minLength": 1, "maxLength": 60, "pattern": r"^[^,/]*$"}
    if version >= (2, 79):
        props["delete_on_termination"] = {"type": "boolean"}
    return {"type": "object", "required": ["volumeAttachment"], "additionalProperties": False, "properties": {
        "volumeAttachment": {"type": "object", "required": ["volumeId"], "additionalProperties": False,
                             "properties": props}}}


def _update_schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"volumeId": UUID}
    if version >= (2, 85):       # the attachment's other fields may be sent back, unchanged
        props.update({"id": UUID, "serverId": UUID, "device": DEVICE, "delete_on_termination": {"type": "boolean"},
                      "tag": {"type": "string", "minLength": 1, "maxLength": 60, "pattern": r"^[^,/]*$"}})
    return {"type": "object", "required": ["volumeAttachment"], "additionalProperties": False, "properties": {
        "volumeAttachment": {"type": "object", "required": ["volumeId"], "additionalProperties": False,
                             "properties": props}}}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].server_volumes


def view(req: Request, server_id: str, bdm: Any) -> dict[str, Any]:
    version = req.ctx.api_version
    out: dict[str, Any] = {} if version >= (2, 89) else {"id": bdm.volume_id}
    out.update({"serverId": server_id, "volumeId": bdm.volume_id, "device": bdm.device_name})
    if version >= (2, 70):
        out["tag"] = bdm.tag
    if version >= (2, 79):
        out["delete_on_termination"] = bool(bdm.delete_on_termination)
    if version >= (2, 89):
        out["attachment_id"] = bdm.attachment_id
        out["bdm_uuid"] = bdm.uuid
    return out


async def list_volume_attachments(req: Request):
    v.validate_query(dict(req.query_params), QUERY)
    await authz.server(req, f"{VA}:index")
    sid = req.path_params["server_id"]
    bdms = await _svc(req).attached(req.ctx, sid)
    offset = int(req.query_params.get("offset") or 0)
    limit = req.query_params.get("limit")
    bdms = bdms[offset:] if limit is None else bdms[offset:offset + int(limit)]
    return json_response({"volumeAttachments": [view(req, sid, b) for b in bdms]})


async def show_volume_attachment(req: Request):
    await authz.server(req, f"{VA}:show")
    sid = req.path_params["server_id"]
    bdm = await _svc(req).one(req.ctx, sid, req.path_params["volume_id"])
    return json_response({"volumeAttachment": view(req, sid, bdm)})


async def create_volume_attachment(req: Request):
    body = v.validate(await read_json(req), _create_schema(req.ctx.api_version))["volumeAttachment"]
    await authz.server(req, f"{VA}:create")
    sid = req.path_params["server_id"]
    bdm = await _svc(req).attach(req.ctx, sid, body["volumeId"], device=body.get("device"), tag=body.get("tag"),
                                 delete_on_termination=bool(body.get("delete_on_termination", False)))
    return json_response({"volumeAttachment": view(req, sid, bdm)})


async def delete_volume_attachment(req: Request):
    await authz.server(req, f"{VA}:delete")
    await _svc(req).detach(req.ctx, req.path_params["server_id"], req.path_params["volume_id"])
    return empty_response(202)


async def update_volume_attachment(req: Request):
    """2.85: change ``delete_on_termination``; ``id``, ``serverId``, ``device`` and ``tag`` may be
    given but not changed. Another ``volumeId`` asks for a swap, which is not built."""
    version = req.ctx.api_version
    body = v.validate(await read_json(req), _update_schema(version))["volumeAttachment"]
    sid, volume_id = req.path_params["server_id"], req.path_params["volume_id"]
    if body["volumeId"] != volume_id or version < (2, 85):
        await authz.server(req, f"{VA}:swap")
        raise NotImplementedYet("Swapping the volume of an attachment (PUT with another volumeId, or any PUT "
                                "before microversion 2.85) is not implemented by this cloud (see "
                                "docs/api-coverage.md).")
    await authz.server(req, f"{VA}:update")
    bdm = await _svc(req).one(req.ctx, sid, volume_id)
    now = {"id": bdm.volume_id, "serverId": sid, "device": bdm.device_name, "tag": bdm.tag}
    for field, current in now.items():
        if field in body and body[field] != current:
            raise exc.BadRequest(f"The {field} property of a volume attachment can not be updated "
                               f"(it is {current!r}).")
    if "delete_on_termination" in body:
        await _svc(req).set_delete_on_termination(req.ctx, sid, volume_id, body["delete_on_termination"])
    return empty_response(202)
