"""Handlers for /servers, /servers/detail, /servers/{id} and the forceDelete action."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import authz, links, server_actions, server_actions_more, server_list
from nubes.compute.api import server_schemas as schemas
from nubes.compute.api import server_views as views
from nubes.compute.api import validation as v
from nubes.compute.api import remote_consoles
from nubes.compute.api import network_proxies
from nubes.compute.service.server_create import check_counts
from nubes.compute.service.server_requests import BlockDevice, CreateRequest, NetworkRequest

P = "os_compute_api:servers"


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].servers


def _int(value: Any, default: int | None = None) -> int | None:
    return default if value is None else int(value)


def _networks(raw: Any) -> str | list[NetworkRequest] | None:
    if raw is None or isinstance(raw, str):
        return raw
    return [NetworkRequest(network_id=n.get("uuid"), port_id=n.get("port"), fixed_ip=n.get("fixed_ip"),
                           tag=n.get("tag")) for n in raw]


def _bdm(raw: dict[str, Any]) -> BlockDevice:
    src = raw.get("source_type") or ("blank" if not raw.get("uuid") else "volume")
    dest = raw.get("destination_type") or ("local" if src in ("image", "blank") else "volume")
    boot = raw.get("boot_index")
    return BlockDevice(source_type=src, destination_type=dest, boot_index=None if boot is None else int(boot),
                       uuid=raw.get("uuid") or raw.get("image_id") or raw.get("volume_id") or raw.get("snapshot_id"),
                       volume_size=_int(raw.get("volume_size")), guest_format=raw.get("guest_format"),
                       device_name=raw.get("device_name"), device_type=raw.get("device_type"),
                       disk_bus=raw.get("disk_bus"),
                       delete_on_termination=v.as_bool(raw.get("delete_on_termination", False)),
                       tag=raw.get("tag"), volume_type=raw.get("volume_type"))


def create_request(body: dict[str, Any]) -> CreateRequest:
    s = body["server"]
    hints = body.get("OS-SCH-HNT:scheduler_hints") or body.get("os:scheduler_hints") or {}
    min_count = _int(s.get("min_count"), 1) or 1
    max_count = _int(s.get("max_count"), min_count) or min_count
    check_counts(min_count, max_count)
    return CreateRequest(
        name=s["name"], flavor_ref=str(s["flavorRef"]), image_ref=s.get("imageRef") or "",
        networks=_networks(s.get("networks")), key_name=s.get("key_name"),
        security_groups=[g["name"] for g in s.get("security_groups", []) if "name" in g],
        user_data=s.get("user_data"), metadata=s.get("metadata") or {},
        availability_zone=s.get("availability_zone"), min_count=min_count, max_count=max_count,
        return_reservation_id=v.as_bool(s.get("return_reservation_id", False)),
        block_devices=[_bdm(b) for b in s.get("block_device_mapping_v2", [])],
        config_drive=v.as_bool(s.get("config_drive", False)), tags=s.get("tags") or [],
        description=s.get("description"), hostname=s.get("hostname"), admin_password=s.get("adminPass"),
        access_ip_v4=s.get("accessIPv4"), access_ip_v6=s.get("accessIPv6"),
        auto_disk_config=s.get("OS-DCF:diskConfig", "MANUAL") == "AUTO", scheduler_hints=dict(hints),
        requested_host=s.get("host"), requested_node=s.get("hypervisor_hostname"))


async def create_server(req: Request):
    body = v.validate(await read_json(req), schemas.create(req.ctx.api_version))
    schemas.check_formats(body["server"])
    if body["server"].get("personality"):
        raise exc.BadRequest("Personality files are not supported by this cloud: pass the files in "
                             "user_data or a config drive instead.")
    new = create_request(body)
    _authorize_create(req, new)
    zero_disk = authz.allowed_own(req, f"{P}:create:zero_disk_flavor")
    made = await _svc(req).create(req.ctx, new, zero_disk_allowed=zero_disk)
    if new.return_reservation_id:
        return json_response({"reservation_id": made.reservation_id}, 202)
    server = views.created(req, made.instance, made.admin_password, with_password=True)
    return json_response({"server": server}, 202, headers={"Location": server["links"][0]["href"]})


def _authorize_create(req: Request, new: CreateRequest) -> None:
    """Nova's create: the rule, then forcing a host (``az:host[:node]``) and requesting one (2.74)."""
    from nubes.compute.scheduler.spec import parse_zone

    authz.own(req, f"{P}:create")
    _az, host, node = parse_zone(new.availability_zone)
    if host or node:
        authz.own(req, f"{P}:create:forced_host")
    if new.requested_host or new.requested_node:
        authz.own(req, f"{P}:create:requested_destination")


async def list_servers(req: Request):
    return await server_list.respond(req, views.brief, f"{P}:index", "servers")


async def list_servers_detail(req: Request):
    return await server_list.respond(req, views.detail, f"{P}:detail", "servers/detail")


async def show_server(req: Request):
    view = await _svc(req).get(req.ctx, req.path_params["server_id"])
    req.ctx.can(f"{P}:show", {"project_id": view.row.project_id, "user_id": view.row.user_id})
    return json_response({"server": views.detail(req, view, show=True)})


UPDATE_FIELDS = {"name": "display_name", "description": "display_description", "accessIPv4": "access_ip_v4",
                 "accessIPv6": "access_ip_v6", "hostname": "hostname"}


async def update_server(req: Request):
    body = v.validate(await read_json(req), schemas.update(req.ctx.api_version))["server"]
    schemas.check_formats(body)
    changes = {UPDATE_FIELDS[k]: val for k, val in body.items() if k in UPDATE_FIELDS}
    if "OS-DCF:diskConfig" in body:
        changes["auto_disk_config"] = body["OS-DCF:diskConfig"] == "AUTO"
    await authz.server(req, f"{P}:update")
    view = await _svc(req).update(req.ctx, req.path_params["server_id"], changes)
    return json_response({"server": views.changed(req, view)})


async def delete_server(req: Request):
    await authz.server(req, f"{P}:delete")
    await _svc(req).delete(req.ctx, req.path_params["server_id"])
    return empty_response(204)


async def _force_delete(req: Request, _arg: Any):
    await authz.server(req, "os_compute_api:os-deferred-delete:force")
    await _svc(req).delete(req.ctx, req.path_params["server_id"], action="forceDelete")
    return empty_response(202)


# Server actions: the ones served here, and Nova's others (501 until built).
ACTIONS: dict[str, Any] = {"forceDelete": _force_delete, **server_actions.ACTIONS, **server_actions_more.ACTIONS,
                           **network_proxies.ACTIONS}
ACTIONS.update(remote_consoles.ACTIONS)
NOVA_ACTIONS = {
    "addFixedIp", "addFloatingIp", "addSecurityGroup", "addTenantAccess", "changePassword", "confirmResize",
    "createBackup", "createImage", "evacuate", "forceDelete", "injectNetworkInfo", "lock", "migrate",
    "os-getConsoleOutput", "os-getRDPConsole", "os-getSerialConsole", "os-getSPICEConsole",
    "os-getVNCConsole", "os-migrateLive", "os-resetState", "os-start", "os-stop", "pause", "reboot",
    "rebuild", "removeFixedIp", "removeFloatingIp", "removeSecurityGroup", "rescue", "resetNetwork",
    "resize", "restore", "resume", "revertResize", "shelve", "shelveOffload", "suspend",
    "trigger_crash_dump", "unlock", "unpause", "unrescue", "unshelve"}


async def server_action(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or len(body) != 1:
        raise exc.BadRequest("Malformed request body: one action is expected, as {\"<action>\": {...}}.")
    (name, arg), = body.items()
    handler = ACTIONS.get(name)
    if handler is not None:
        return await handler(req, arg)
    if name in NOVA_ACTIONS:
        from nubes.core.exceptions import NotImplementedYet

        raise NotImplementedYet(f"The server action {name} is not implemented by this cloud yet "
                                "(see docs/api-coverage.md).")
    raise exc.BadRequest(f"There is no such action: {name}")


def list_links(req: Request, collection: str, rows: list[Any], limit: int | None) -> dict[str, Any]:
    if limit and len(rows) == limit:
        return {"servers_links": links.next_link(req, collection, rows[-1].row.id)}
    return {}
