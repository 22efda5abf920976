"""Handler for POST /os-server-external-events (Nova's server_external_events): events from other
services (the network service's port and floating IP changes, the volume service's
volume-extended from 2.51) about servers, for admins and
services only. 200 when every event was accepted, 207 when some were not (each event's ``code``
says why), 404 when none was."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.api.server_schemas import UUID
from nubes.compute.service.external_events import NETWORK_EVENTS, VOLUME_EVENTS

RULE = f"{authz.P}:os-server-external-events:create"



def schema(version: tuple[int, int]) -> dict[str, Any]:
    names = list(NETWORK_EVENTS) + (list(VOLUME_EVENTS) if version >= (2, 51) else [])
    return {
        "type": "object", "required": ["events"], "additionalProperties": False, "properties": {
            "events": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["server_uuid", "name"], "additionalProperties": False,
                "properties": {
                    "server_uuid": UUID,
                    "name": {"type": "string", "enum": names},
                    "status": {"type": "string", "enum": ["failed", "completed", "in-progress"]},
                    "tag": {"type": "string", "maxLength": 255}}}}}}




async def create_external_events(req: Request):
    body = v.validate(await read_json(req), schema(req.ctx.api_version))     # Nova checks the schema before the rule
    req.ctx.can(RULE, authz.caller(req))
    outcomes = await req.rt.extra["compute"].external_events.deliver(body["events"])
    if not any(o.accepted for o in outcomes):
        raise exc.NotFound("No instances found for any event")
    status = 200 if all(o.accepted for o in outcomes) else 207
    return json_response({"events": [o.event for o in outcomes]}, status)
