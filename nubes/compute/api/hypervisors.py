"""Handlers for /os-hypervisors: list, detail, show, statistics, uptime, and the pre-2.53 search
and servers routes, with Nova's fields per microversion (2.28 cpu_info object, 2.33 paging,
2.53 uuids and query filters, 2.75 servers always listed when asked, 2.88 usage fields gone
and uptime in the detail)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.api.jsonschema import is_uuid
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api import validation as v
from nubes.compute.service.hypervisors import HypervisorView

P = "os_compute_api:os-hypervisors"
USAGE_FIELDS = ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used", "running_vms")
SINGLE_STRING = {"type": "string"}
QUERY_V253 = {"type": "object", "additionalProperties": False, "properties": {
    "limit": {"type": ["integer", "string"], "pattern": r"^[0-9]*$", "minimum": 0},
    "marker": SINGLE_STRING,
    "hypervisor_hostname_pattern": {"type": "string", "minLength": 1, "maxLength": 255,
                                    "pattern": r"^[a-zA-Z0-9-._]*$"},
    "with_servers": v.BOOLEAN}}
SHOW_QUERY_V253 = {"type": "object", "additionalProperties": False, "properties": {"with_servers": v.BOOLEAN}}


def until(last: tuple[int, int], handler: Callable[..., Any]) -> Callable[..., Any]:
    """Past ``last`` the route is gone: 404, as Nova answers a removed API."""

    async def gated(req: Request) -> Any:
        if req.ctx.api_version > last:
            raise exc.NotFound("The resource could not be found.")
        return await handler(req)

    gated.__name__ = handler.__name__
    return gated


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].hypervisors


def _uuids(req: Request) -> bool:
    return req.ctx.api_version >= (2, 53)


def view(req: Request, hv: HypervisorView, *, detail: bool, with_servers: bool = False,
         uptime: str | None = None) -> dict[str, Any]:
    version, n, svc = req.ctx.api_version, hv.node, hv.service
    out: dict[str, Any] = {"id": n.uuid if _uuids(req) else n.id, "hypervisor_hostname": n.hypervisor_hostname,
                           "state": "up" if hv.up else "down", "status": "disabled" if svc.disabled else "enabled"}
    if detail:
        out.update({"hypervisor_type": n.hypervisor_type, "hypervisor_version": n.hypervisor_version,
                    "host_ip": n.host_ip, "service": {"id": svc.uuid if _uuids(req) else svc.id, "host": n.host,
                                                      "disabled_reason": svc.disabled_reason}})
        if version < (2, 88):
            out.update({f: getattr(n, f) for f in USAGE_FIELDS})
            out.update({"free_ram_mb": hv.free_ram_mb, "free_disk_gb": hv.free_disk_gb,
                        "current_workload": hv.current_workload, "disk_available_least": hv.free_disk_gb})
            cpu = n.cpu_info or {}
            out["cpu_info"] = cpu if version >= (2, 28) else json.dumps(cpu)
        else:
            out["uptime"] = uptime
    if hv.servers:
        out["servers"] = [{"name": name, "uuid": iid} for name, iid in hv.servers]
    elif with_servers and version >= (2, 75):
        out["servers"] = []
    return out


def _with_servers(req: Request) -> bool:
    """The 2.53 with_servers flag (the query schema has checked it is one of Nova's booleans)."""
    raw = req.query_params.get("with_servers")
    return raw is not None and _uuids(req) and v.as_bool(raw)


async def _uptimes(req: Request, views: list[HypervisorView]) -> list[str | None]:
    if req.ctx.api_version < (2, 88):
        return [None] * len(views)

    async def one(hv: HypervisorView) -> str | None:
        try:
            return await _svc(req).uptime(hv)
        except exc.UptimeUnavailable:
            return None

    return list(await asyncio.gather(*(one(hv) for hv in views)))


async def _list(req: Request, *, detail: bool):
    version = req.ctx.api_version
    params = dict(req.query_params)
    if version >= (2, 53):
        v.validate_query(params, QUERY_V253)
    pattern = params.get("hypervisor_hostname_pattern") if version >= (2, 53) else None
    limit = marker = None
    paging = version >= (2, 33)
    if paging:
        marker = params.get("marker")
        raw = params.get("limit")
        if raw is not None:
            try:
                limit = int(raw)
            except ValueError:
                raise exc.BadRequest("limit param must be an integer") from None
            if limit < 0:
                raise exc.BadRequest("limit param must be positive")
        limit = min(limit if limit is not None else req.rt.service_conf.osapi_max_limit,
                    req.rt.service_conf.osapi_max_limit)
    if pattern is not None:
        if "limit" in params or marker:
            raise exc.BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter "
                                 "is not supported.")
        limit, paging = None, False
    with_servers = _with_servers(req)
    views = await _svc(req).list(pattern=pattern, limit=limit, marker=marker, by_uuid=_uuids(req),
                                 with_servers=with_servers)
    uptimes = await _uptimes(req, views) if detail else [None] * len(views)
    items = [view(req, hv, detail=detail, with_servers=with_servers, uptime=up) for hv, up in zip(views, uptimes)]
    body: dict[str, Any] = {"hypervisors": items}
    if paging and limit and len(items) == limit:
        body["hypervisors_links"] = links.next_link(req, "os-hypervisors/detail" if detail else "os-hypervisors",
                                                    str(items[-1]["id"]))
    return json_response(body)


async def list_hypervisors(req: Request):
    req.ctx.can(f"{P}:list", target={})
    return await _list(req, detail=False)


async def list_hypervisors_detail(req: Request):
    req.ctx.can(f"{P}:list-detail", target={})
    return await _list(req, detail=True)


async def _node(req: Request) -> tuple[HypervisorView, bool]:
    ident = req.path_params["hypervisor_id"]
    if _uuids(req):
        v.validate_query(dict(req.query_params), SHOW_QUERY_V253)
        if not is_uuid(ident):
            raise exc.BadRequest(f"Invalid uuid {ident}")
    else:
        try:
            int(ident)
        except ValueError:
            raise exc.HypervisorNotFound(ident) from None
    with_servers = _with_servers(req)
    return await _svc(req).show(ident, by_uuid=_uuids(req), with_servers=with_servers), with_servers


async def show_hypervisor(req: Request):
    req.ctx.can(f"{P}:show", target={})
    hv, with_servers = await _node(req)
    (uptime,) = await _uptimes(req, [hv])
    return json_response({"hypervisor": view(req, hv, detail=True, with_servers=with_servers, uptime=uptime)})


async def _uptime(req: Request):
    req.ctx.can(f"{P}:uptime", target={})
    hv, _ = await _node(req)
    uptime = await _svc(req).uptime(hv)
    out = view(req, hv, detail=False)
    out["uptime"] = uptime
    return json_response({"hypervisor": out})


async def _statistics(req: Request):
    req.ctx.can(f"{P}:statistics", target={})
    return json_response({"hypervisor_statistics": await _svc(req).statistics()})


async def _matching(req: Request, *, servers: bool):
    pattern = req.path_params["pattern"]
    views = await _svc(req).list(pattern=pattern, with_servers=servers)
    return json_response({"hypervisors": [view(req, hv, detail=False) for hv in views]})


async def _search(req: Request):
    req.ctx.can(f"{P}:search", target={})
    return await _matching(req, servers=False)


async def _servers(req: Request):
    req.ctx.can(f"{P}:servers", target={})
    return await _matching(req, servers=True)


uptime_hypervisor = until((2, 87), _uptime)
hypervisor_statistics = until((2, 87), _statistics)
search_hypervisors = until((2, 52), _search)
hypervisor_servers = until((2, 52), _servers)
