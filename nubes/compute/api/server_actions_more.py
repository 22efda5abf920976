"""More server actions of ``POST /servers/{id}/action`` (merged into ``api.servers``' dispatcher):
``changePassword``, ``injectNetworkInfo``, ``restore``, ``createBackup``, ``evacuate`` — Nova's
bodies, rules and answers."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import server_action_schemas as schemas
from nubes.compute.api import validation as v
from nubes.compute.service import server_create
from nubes.compute.service.evacuate import EvacuateRequest
from nubes.compute.service.snapshots import image_url

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


CREATE_BACKUP = {"type": "object", "required": ["name", "backup_type", "rotation"], "additionalProperties": False,
                 "properties": {"name": v.NAME, "backup_type": {"type": "string"},
                                "rotation": v.positive_integer(0), "metadata": schemas.METADATA}}


async def create_backup(req: Request, arg: Any):
    body = v.validate({"createBackup": arg}, schemas.action("createBackup", CREATE_BACKUP))["createBackup"]
    await authz.server(req, f"{P}:os-create-backup")
    st = _state(req)
    rotation = int(body["rotation"])
    image_id = await st.snapshots.create_backup(req.ctx, _sid(req), body["name"], body["backup_type"], rotation,
                                                body.get("metadata") or {})
    if req.ctx.api_version >= (2, 45):
        return json_response({"image_id": image_id}, 202)
    headers = {"Location": await image_url(st.rt.clients, image_id)} if rotation > 0 else None
    return empty_response(202, headers=headers)


def _evacuate_schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"host": schemas.HOST, "adminPass": schemas.ADMIN_PASSWORD}
    required: list[str] = []
    if version < (2, 14):
        props["onSharedStorage"] = v.BOOLEAN
        required = ["onSharedStorage"]
    elif (2, 29) <= version < (2, 68):
        props["force"] = v.BOOLEAN
    out: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": props}
    if required:
        out["required"] = required
    return out


async def evacuate(req: Request, arg: Any):
    version = req.ctx.api_version
    body = v.validate({"evacuate": arg}, schemas.action("evacuate", _evacuate_schema(version)))["evacuate"]
    await authz.server(req, f"{P}:os-evacuate")
    if v.as_bool(body.get("onSharedStorage", False)):
        raise exc.BadRequest("onSharedStorage is true, but the hosts of this cloud share no instance storage: "
                             "evacuate with onSharedStorage false (the server is rebuilt from its image).")
    password = body.get("adminPass")
    if version < (2, 14) and password is None:
        password = server_create.password()
    await _state(req).evacuations.evacuate(req.ctx, _sid(req), EvacuateRequest(
        host=body.get("host"), force=v.as_bool(body.get("force", False)), admin_password=password,
        stopped=version >= (2, 95)))
    if version < (2, 14):
        return json_response({"adminPass": password})
    return empty_response(200)


async def restore(req: Request, arg: Any):
    await authz.server(req, f"{P}:os-deferred-delete:restore")
    await _state(req).deferred_delete.restore(req.ctx, _sid(req))
    return empty_response(202)


ACTIONS: dict[str, Any] = {
    "changePassword": change_password, "injectNetworkInfo": inject_network_info, "restore": restore,
    "createBackup": create_backup, "evacuate": evacuate,
}
