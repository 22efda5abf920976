"""More server actions of ``POST /servers/{id}/action`` (merged into ``api.servers``' dispatcher):
``changePassword``, ``injectNetworkInfo``, ``restore`` — Nova's bodies, rules and answers."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response
from nubes.compute.api import authz
from nubes.compute.api import server_action_schemas as schemas
from nubes.compute.api import validation as v

P = authz.P
CHANGE_PASSWORD = {"type": "object", "required": ["adminPass"], "additionalProperties": False,
                   "properties": {"adminPass": schemas.ADMIN_PASSWORD}}


def _sid(req: Request) -> str:
    return req.path_params["server_id"]


def _state(req: Request) -> Any:
    return req.rt.extra["compute"]


async def change_password(req: Request, arg: Any):
    body = v.validate({"changePassword": arg}, schemas.action("changePassword", CHANGE_PASSWORD))
    await authz.server(req, f"{P}:os-admin-password")
    await _state(req).guest_actions.change_password(req.ctx, _sid(req), body["changePassword"]["adminPass"])
    return empty_response(202)


async def inject_network_info(req: Request, arg: Any):
    await authz.server(req, f"{P}:os-admin-actions:inject_network_info")
    await _state(req).guest_actions.inject_network_info(req.ctx, _sid(req))
    return empty_response(202)


async def restore(req: Request, arg: Any):
    await authz.server(req, f"{P}:os-deferred-delete:restore")
    await _state(req).deferred_delete.restore(req.ctx, _sid(req))
    return empty_response(202)


ACTIONS: dict[str, Any] = {
    "changePassword": change_password, "injectNetworkInfo": inject_network_info, "restore": restore,
}
