"""The legacy attach actions of POST /volumes/{id}/action (before the attachments API):
os-reserve, os-unreserve, os-begin_detaching, os-roll_detaching, os-initialize_connection,
os-terminate_connection, os-attach, os-detach, os-force_detach."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.volume.api import common as c
from nubes.volume.service.attachments import LegacyAttach

CONNECTOR = {"type": "object", "required": ["connector"], "properties": {"connector": {"type": "object"}}}
ATTACH = {"type": "object", "properties": {
    "instance_uuid": {"type": ["string", "null"], "maxLength": 36},
    "host_name": {"type": ["string", "null"], "maxLength": 255},
    "mountpoint": {"type": "string", "minLength": 1, "maxLength": 255},
    "mode": {"type": "string", "enum": ["rw", "ro"]}},
    "required": ["mountpoint"], "additionalProperties": False}
DETACH = {"type": ["object", "null"], "properties": {"attachment_id": {"type": ["string", "null"], "maxLength": 36}}}
FORCE_DETACH = {"type": ["object", "null"], "properties": {
    "attachment_id": {"type": ["string", "null"], "maxLength": 36}, "connector": {"type": ["object", "null"]}}}

RULES = {"os-reserve": "volume:reserve_volume", "os-unreserve": "volume:unreserve_volume",
         "os-begin_detaching": "volume:begin_detaching", "os-roll_detaching": "volume:roll_detaching",
         "os-initialize_connection": "volume:initialize_connection",
         "os-terminate_connection": "volume:terminate_connection", "os-attach": "volume:attach",
         "os-detach": "volume:detach", "os-force_detach": "volume_extension:volume_admin_actions:force_detach"}


def _legacy(req: Request) -> LegacyAttach:
    return LegacyAttach(req.rt.extra["volume"].attachments)


async def run(req: Request, action: str, arg: Any):
    """Do ``action`` (one of ``RULES``) with its argument ``arg``."""
    req.ctx.can(RULES[action], await req.rt.extra["volume"].volumes.owner(req.path_params["volume_id"]))
    see = c.owned(req)
    vid = req.path_params["volume_id"]
    legacy = _legacy(req)
    if action == "os-reserve":
        await legacy.reserve(vid, see)
    elif action == "os-unreserve":
        await legacy.unreserve(vid, see)
    elif action == "os-begin_detaching":
        await legacy.begin_detaching(vid, see)
    elif action == "os-roll_detaching":
        await legacy.roll_detaching(vid, see)
    elif action == "os-initialize_connection":
        arg = c.validate(arg, CONNECTOR)
        info = await legacy.initialize_connection(vid, see, arg["connector"])
        return json_response({"connection_info": info})
    elif action == "os-terminate_connection":
        arg = c.validate(arg, CONNECTOR)
        await legacy.terminate_connection(vid, see, arg["connector"])
    elif action == "os-attach":
        arg = c.validate(arg, ATTACH)
        await legacy.attach(vid, see, arg.get("instance_uuid"), arg.get("host_name"), arg["mountpoint"],
                            arg.get("mode", "rw"))
    elif action == "os-detach":
        arg = c.validate(arg, DETACH) or {}
        await legacy.detach(vid, see, arg.get("attachment_id"))
    else:
        arg = c.validate(arg, FORCE_DETACH) or {}
        await legacy.detach(vid, see, arg.get("attachment_id"), force=True, connector=arg.get("connector"))
    return empty_response(202)


def _handler(action: str) -> Any:
    async def handle(req: Request, arg: Any):
        return await run(req, action, arg)
    return handle


HANDLERS = {action: _handler(action) for action in RULES}
