"""Remote consoles: the ``os-getVNCConsole`` / ``os-getSerialConsole`` (and SPICE, RDP) server actions
of microversions 2.1-2.5, ``POST /servers/{id}/remote-consoles`` from 2.6 and, for admins,
``GET /os-console-auth-tokens/{token}`` — Nova's bodies, answers and status codes.

Served: VNC (type ``novnc``) and serial (type ``serial``); SPICE, RDP, MKS and the XVP proxy are
consoles this cloud does not offer, answered with Nova's 400 "Unavailable console type".
"""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v

P = authz.P
RULE = f"{P}:os-remote-consoles"
TOKENS_RULE = f"{P}:os-console-auth-tokens"
# The legacy actions: the console types each accepts (Nova's schemas), removed at 2.6.
ACTION_TYPES = {"os-getVNCConsole": ["novnc", "xvpvnc"], "os-getSerialConsole": ["serial"],
                "os-getSPICEConsole": ["spice-html5"], "os-getRDPConsole": ["rdp-html5"]}


def _action_schema(name: str) -> dict[str, Any]:
    return {"type": "object", "properties": {name: {
        "type": "object", "properties": {"type": {"enum": ACTION_TYPES[name]}},
        "required": ["type"], "additionalProperties": False}},
        "required": [name], "additionalProperties": False}


def remote_console_schema(version: tuple[int, int]) -> dict[str, Any]:
    protocols = ["vnc", "spice", "rdp", "serial"]
    types = ["novnc", "xvpvnc", "rdp-html5", "spice-html5", "serial"]
    if version >= (2, 8):
        protocols.append("mks")
        types.append("webmks")
    if version >= (2, 99):
        types.append("spice-direct")
    return {"type": "object", "properties": {"remote_console": {
        "type": "object", "properties": {"protocol": {"enum": protocols}, "type": {"enum": types}},
        "required": ["protocol", "type"], "additionalProperties": False}},
        "required": ["remote_console"], "additionalProperties": False}


def legacy_action(name: str) -> Any:
    async def handler(req: Request, arg: Any):
        if req.ctx.api_version >= (2, 6):
            raise exc.NotFound(f"The server action {name} was removed at microversion 2.6: use "
                               "POST /servers/{server_id}/remote-consoles.")
        body = v.validate({name: arg}, _action_schema(name))[name]
        await authz.server(req, RULE)
        consoles = req.rt.extra["compute"].consoles
        console = await consoles.open(req.ctx, req.path_params["server_id"], body["type"])
        return json_response({"console": {"type": console.console_type, "url": console.url}})

    return handler


async def create_remote_console(req: Request):
    body = v.validate(await read_json(req), remote_console_schema(req.ctx.api_version))["remote_console"]
    await authz.server(req, RULE)
    consoles = req.rt.extra["compute"].consoles
    console = await consoles.open(req.ctx, req.path_params["server_id"], body["type"], protocol=body["protocol"])
    return json_response({"remote_console": {"protocol": body["protocol"], "type": console.console_type,
                                             "url": console.url}})


async def show_console_auth_token(req: Request):
    token = req.path_params["console_token"]
    authz.own(req, TOKENS_RULE)
    row = await req.rt.extra["compute"].consoles.show(token)
    if req.ctx.api_version < (2, 31) and row.console_type != "rdp-html5":
        raise exc.ConsoleTokenNotAccessible()     # before 2.31 Nova shows only RDP tokens
    out: dict[str, Any] = {"instance_uuid": row.instance_uuid, "host": row.host, "port": row.port,
                           "internal_access_path": row.internal_access_path}
    if req.ctx.api_version >= (2, 99):
        out["tls_port"] = None
    return json_response({"console": out})


ACTIONS = {name: legacy_action(name) for name in ACTION_TYPES}
