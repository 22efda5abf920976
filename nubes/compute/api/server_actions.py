"""The server actions nubes serves through ``POST /servers/{id}/action`` (``ACTIONS``, merged into the
dispatcher of ``api.servers``): power and lifecycle, lock, rebuild, rescue, shelve, createImage,
the moves, security groups and console output — Nova's bodies, answers and status codes."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import server_action_schemas as schemas
from nubes.compute.api import server_schemas
from nubes.compute.api import server_views as views
from nubes.compute.api import validation as v
from nubes.compute.service.moves import LiveRequest
from nubes.compute.service.server_actions_rebuild import UNSET, RebuildRequest
from nubes.compute.service.server_actions_shelve import UNSET as KEEP_ZONE
from nubes.compute.service.snapshots import image_url

Handler = Any
P = authz.P
# The simple actions' rules (Nova's names).
SIMPLE_POLICIES = {
    "start": f"{P}:servers:start", "stop": f"{P}:servers:stop",
    "pause": f"{P}:os-pause-server:pause", "unpause": f"{P}:os-pause-server:unpause",
    "suspend": f"{P}:os-suspend-server:suspend", "resume": f"{P}:os-suspend-server:resume",
    "unrescue": f"{P}:os-unrescue",
}
MIGRATE = f"{P}:os-migrate-server"


def _sid(req: Request) -> str:
    return req.path_params["server_id"]


def _state(req: Request) -> Any:
    return req.rt.extra["compute"]


def _check(req: Request, name: str, arg: Any, schema: dict[str, Any] | None) -> Any:
    if schema is not None:
        v.validate({name: arg}, schemas.action(name, schema))
    return arg


def simple(action: str) -> Handler:
    async def handler(req: Request, arg: Any):
        await authz.server(req, SIMPLE_POLICIES[action])
        await _state(req).server_actions.simple(req.ctx, _sid(req), action)
        return empty_response(202)

    return handler


async def reboot(req: Request, arg: Any):
    body = _check(req, "reboot", arg, schemas.REBOOT)
    await authz.server(req, f"{P}:servers:reboot")
    await _state(req).server_actions.reboot(req.ctx, _sid(req), body["type"].upper() == "HARD")
    return empty_response(202)


async def lock(req: Request, arg: Any):
    reason = None
    if req.ctx.api_version >= (2, 73):
        reason = (_check(req, "lock", arg, schemas.LOCK_2_73) or {}).get("locked_reason")
    await authz.server(req, f"{P}:os-lock-server:lock")
    await _state(req).server_actions.lock(req.ctx, _sid(req), reason)
    return empty_response(202)


async def reset_state(req: Request, arg: Any):
    body = _check(req, "os-resetState", arg, schemas.RESET_STATE)
    await authz.server(req, f"{P}:os-admin-actions:reset_state")
    await _state(req).server_actions.reset_state(req.ctx, _sid(req), body["state"])
    return empty_response(202)


async def unlock(req: Request, arg: Any):
    may_override = await authz.unlock(req)
    await _state(req).server_actions.unlock(req.ctx, _sid(req), may_override=may_override)
    return empty_response(202)


REBUILD_FIELDS = {"name": "display_name", "description": "display_description", "accessIPv4": "access_ip_v4",
                  "accessIPv6": "access_ip_v6", "hostname": "hostname"}


async def rebuild(req: Request, arg: Any):
    body = _check(req, "rebuild", arg, schemas.rebuild(req.ctx.api_version))
    server_schemas.check_formats(body)
    if body.get("personality"):
        raise exc.BadRequest("Personality files are not supported by this cloud: pass the files in "
                             "user_data or a config drive instead.")
    changes = {REBUILD_FIELDS[k]: val for k, val in body.items() if k in REBUILD_FIELDS}
    if "OS-DCF:diskConfig" in body:
        changes["auto_disk_config"] = body["OS-DCF:diskConfig"] == "AUTO"
    rr = RebuildRequest(image_ref=body["imageRef"], admin_password=body.get("adminPass"), changes=changes,
                        metadata=body.get("metadata"), key_name=body.get("key_name", UNSET),
                        user_data=body.get("user_data", UNSET),
                        preserve_ephemeral=v.as_bool(body.get("preserve_ephemeral", False)))
    st = _state(req)
    owner = await authz.server(req, f"{P}:servers:rebuild")
    zero_disk = req.ctx.allowed(f"{P}:servers:create:zero_disk_flavor", owner.target)
    password = await st.rebuilds.rebuild(req.ctx, _sid(req), rr, zero_disk_allowed=zero_disk)
    server = views.changed(req, await st.servers.get(req.ctx, _sid(req)), rebuild=True)
    server["adminPass"] = password
    return json_response({"server": server}, 202)


async def rescue(req: Request, arg: Any):
    body = _check(req, "rescue", arg, schemas.RESCUE) or {}
    await authz.server(req, f"{P}:os-rescue")
    password = await _state(req).rebuilds.rescue(req.ctx, _sid(req), body.get("adminPass"),
                                                 body.get("rescue_image_ref"))
    return json_response({"adminPass": password})


async def shelve(req: Request, arg: Any):
    await authz.server(req, f"{P}:os-shelve:shelve")
    await _state(req).shelving.shelve(req.ctx, _sid(req))
    return empty_response(202)


async def shelve_offload(req: Request, arg: Any):
    await authz.server(req, f"{P}:os-shelve:shelve_offload")
    await _state(req).shelving.shelve_offload(req.ctx, _sid(req))
    return empty_response(202)


async def unshelve(req: Request, arg: Any):
    body = _check(req, "unshelve", arg, schemas.unshelve(req.ctx.api_version)) or {}
    if req.ctx.api_version < (2, 77) or not isinstance(body, dict):
        body = {}
    zone = body["availability_zone"] if "availability_zone" in body else KEEP_ZONE
    owner = await authz.server(req, f"{P}:os-shelve:unshelve")
    if body.get("host"):
        req.ctx.can(f"{P}:os-shelve:unshelve_to_host", owner.target)
    await _state(req).shelving.unshelve(req.ctx, _sid(req), zone=zone, host=body.get("host"))
    return empty_response(202)


async def create_image(req: Request, arg: Any):
    body = _check(req, "createImage", arg, schemas.CREATE_IMAGE)
    await authz.server(req, f"{P}:servers:create_image")
    st = _state(req)
    image_id = await st.snapshots.create_image(req.ctx, _sid(req), body["name"], body.get("metadata") or {})
    if req.ctx.api_version >= (2, 45):
        return json_response({"image_id": image_id}, 202)
    return empty_response(202, headers={"Location": await image_url(st.rt.clients, image_id)})


async def resize(req: Request, arg: Any):
    body = _check(req, "resize", arg, schemas.RESIZE)
    await authz.server(req, f"{P}:servers:resize")
    dcf = body.get("OS-DCF:diskConfig")
    await _state(req).moves.resize(req.ctx, _sid(req), str(body["flavorRef"]),
                                   None if dcf is None else dcf == "AUTO")
    return empty_response(202)


async def confirm_resize(req: Request, arg: Any):
    await authz.server(req, f"{P}:servers:confirm_resize")
    await _state(req).moves.confirm(req.ctx, _sid(req))
    return empty_response(204)


async def revert_resize(req: Request, arg: Any):
    await authz.server(req, f"{P}:servers:revert_resize")
    await _state(req).moves.revert(req.ctx, _sid(req))
    return empty_response(202)


async def migrate(req: Request, arg: Any):
    host = None
    if req.ctx.api_version >= (2, 56):
        host = (_check(req, "migrate", arg, schemas.MIGRATE_2_56) or {}).get("host")
    owner = await authz.server(req, f"{MIGRATE}:migrate")
    if host:
        req.ctx.can(f"{MIGRATE}:migrate:host", owner.target)
    await _state(req).moves.migrate(req.ctx, _sid(req), host)
    return empty_response(202)


async def migrate_live(req: Request, arg: Any):
    version = req.ctx.api_version
    body = _check(req, "os-migrateLive", arg, schemas.migrate_live(version))
    block = body["block_migration"]
    block = "auto" if block == "auto" else v.as_bool(block)
    force = v.as_bool(body.get("force", False)) if (2, 30) <= version < (2, 68) else False
    owner = await authz.server(req, f"{MIGRATE}:migrate_live")
    if body.get("host"):
        req.ctx.can(f"{MIGRATE}:migrate_live:host", owner.target)
    await _state(req).moves.live_migrate(req.ctx, _sid(req), LiveRequest(body.get("host"), block, force))
    return empty_response(202)


def _group_name(arg: Any) -> str:
    if not isinstance(arg, dict):
        raise exc.BadRequest("Missing parameter dict")
    if "name" not in arg:
        raise exc.BadRequest("Security group not specified")
    name = arg["name"]
    if not isinstance(name, str) or not name.strip():
        raise exc.BadRequest("Security group name cannot be empty")
    return name


def security_group(add: bool) -> Handler:
    async def handler(req: Request, arg: Any):
        name = _group_name(arg)
        await authz.server(req, f"{P}:os-security-groups:{'add' if add else 'remove'}")
        await _state(req).server_network.change_group(req.ctx, _sid(req), name, add=add)
        return empty_response(202)

    return handler


async def console_output(req: Request, arg: Any):
    body = _check(req, "os-getConsoleOutput", arg, schemas.CONSOLE_OUTPUT) or {}
    length = body.get("length")
    length = None if length is None or int(length) == -1 else int(length)
    await authz.server(req, f"{P}:os-console-output")
    output = await _state(req).server_network.console_output(req.ctx, _sid(req), length)
    return json_response({"output": output})


ACTIONS: dict[str, Handler] = {
    "os-start": simple("start"), "os-stop": simple("stop"), "pause": simple("pause"),
    "unpause": simple("unpause"), "suspend": simple("suspend"), "resume": simple("resume"),
    "unrescue": simple("unrescue"), "reboot": reboot, "lock": lock, "unlock": unlock, "os-resetState": reset_state, "rebuild": rebuild,
    "rescue": rescue, "shelve": shelve, "shelveOffload": shelve_offload, "unshelve": unshelve,
    "createImage": create_image, "resize": resize, "confirmResize": confirm_resize,
    "revertResize": revert_resize, "migrate": migrate, "os-migrateLive": migrate_live,
    "addSecurityGroup": security_group(True), "removeSecurityGroup": security_group(False),
    "os-getConsoleOutput": console_output,
}
