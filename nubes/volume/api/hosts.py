"""Handlers for /os-services, /os-availability-zone and /scheduler-stats/get_pools."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].hosts


def _service_view(req: Request, hosts: Any, row: Any) -> dict[str, Any]:
    out = {"binary": row.binary, "host": row.host, "zone": row.availability_zone,
           "status": "disabled" if row.disabled else "enabled", "state": "up" if hosts.is_up(row) else "down",
           "updated_at": c.isotime(row.updated_at), "disabled_reason": row.disabled_reason,
           "frozen": row.frozen, "replication_status": row.replication_status,
           "active_backend_id": row.active_backend_id}
    if req.ctx.api_version >= (3, 7):
        out["cluster"] = row.cluster_name
    if req.ctx.api_version >= (3, 49):
        out["backend_state"] = "up" if hosts.is_up(row) else "down"
    return out


async def list_services(req: Request):
    c.url_project_check(req)
    req.ctx.can("volume_extension:services:index", c.target(req))
    hosts = _svc(req)
    async with req.rt.db.reader() as s:
        rows = await hosts.services(s, host=req.query_params.get("host"), binary=req.query_params.get("binary"))
    return json_response({"services": [_service_view(req, hosts, r) for r in rows]})


async def update_service(req: Request):
    c.url_project_check(req)
    action = req.path_params["action"]
    if action in ("freeze", "thaw", "failover_host", "failover", "set-log", "get-log"):
        raise exc.NotImplementedYet(f"PUT /os-services/{action} is not implemented by this cloud yet "
                                    "(see docs/api-coverage.md).")
    if action not in ("enable", "disable", "disable-log-reason"):
        raise exc.NotFound("Unknown action")
    req.ctx.can("volume_extension:services:update", c.target(req))
    body = await read_json(req)
    c.validate(body, {"type": "object", "required": ["host", "binary"], "properties": {
        "host": {"type": "string", "maxLength": 255}, "binary": {"type": "string", "maxLength": 255},
        "disabled_reason": {"type": ["string", "null"], "maxLength": 255}}})
    enabled = action == "enable"
    async with req.rt.db.session() as s:
        row = await _svc(req).set_enabled(s, body["host"], body["binary"], enabled, body.get("disabled_reason"))
        out = {"host": row.host, "binary": row.binary, "status": "enabled" if enabled else "disabled",
               "disabled": not enabled}
        if action == "disable-log-reason":
            out["disabled_reason"] = row.disabled_reason
    return json_response(out)


async def list_zones(req: Request):
    c.url_project_check(req)
    req.ctx.can("volume_extension:availability_zone_list", c.target(req))
    states = await _svc(req).zone_states()
    if not states:
        states = {req.rt.service_conf.storage_availability_zone: False}
    return json_response({"availabilityZoneInfo": [
        {"zoneName": z, "zoneState": {"available": up}} for z, up in sorted(states.items())]})


async def list_pools(req: Request):
    c.url_project_check(req)
    req.ctx.can("scheduler_extension:scheduler_stats:get_pools", c.target(req))
    detail = c.as_bool(req.query_params.get("detail", "false"))
    async with req.rt.db.reader() as s:
        pools = await _svc(req).pools(s)
    wanted = req.query_params.get("volume_type")
    if wanted:
        from nubes.volume.scheduler.filters import capabilities_pass

        async with req.rt.db.reader() as s:
            types = req.rt.extra["volume"].types
            vt = await types.find(s, wanted, project_id=req.ctx.project_id, see_all=True)
            specs = await types.specs(s, vt.id)
        pools = [p for p in pools if capabilities_pass(p, {"extra_specs": specs})]
    name = req.query_params.get("name")
    if name:
        pools = [p for p in pools if p["name"] == name]
    out = []
    for p in pools:
        item: dict[str, Any] = {"name": p["name"]}
        if detail:
            item["capabilities"] = {k: v for k, v in p["capabilities"].items()}
            item["capabilities"]["timestamp"] = None
        out.append(item)
    return json_response({"pools": out})
