"""Handlers for /os-quota-sets, /os-quota-class-sets and /limits."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

VE = "volume_extension"
LIMIT = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1, "maximum": 2**31 - 1}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].quotas


async def show_quota_set(req: Request):
    pid = req.path_params["project_id"]
    req.ctx.can(f"{VE}:quotas:show", c.target(req, pid))
    usage = c.as_bool(req.query_params.get("usage", "false"))
    async with req.rt.db.reader() as s:
        limits = await _svc(req).limits(s, pid)
        usages = await _svc(req).usages(s, pid) if usage else {}
    body: dict[str, Any] = {"id": pid}
    for resource, limit in limits.items():
        if usage:
            u = usages.get(resource)
            body[resource] = {"limit": limit, "in_use": u.in_use if u else 0,
                              "reserved": u.reserved if u else 0}
        else:
            body[resource] = limit
    return json_response({"quota_set": body})


async def show_quota_defaults(req: Request):
    pid = req.path_params["project_id"]
    req.ctx.can(f"{VE}:quotas:show", c.target(req, pid))
    async with req.rt.db.reader() as s:
        defaults = await _svc(req).defaults(s)
    return json_response({"quota_set": {"id": pid, **defaults}})


def _values(body: Any, key: str) -> dict[str, int]:
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise exc.BadRequest(f"Missing required element '{key}' in request body.")
    values = {k: v for k, v in body[key].items() if k not in ("id", "tenant_id")}
    c.validate(values, {"type": "object", "additionalProperties": LIMIT})
    return {k: int(v) for k, v in values.items()}


async def update_quota_set(req: Request):
    pid = req.path_params["project_id"]
    values = _values(await read_json(req), "quota_set")
    req.ctx.can(f"{VE}:quotas:update", c.target(req, pid))
    async with req.rt.db.session() as s:
        await _svc(req).set_limits(s, pid, values)
        limits = await _svc(req).limits(s, pid)
    return json_response({"quota_set": limits})


async def delete_quota_set(req: Request):
    pid = req.path_params["project_id"]
    req.ctx.can(f"{VE}:quotas:delete", c.target(req, pid))
    async with req.rt.db.session() as s:
        await _svc(req).delete_limits(s, pid)
    return empty_response(200)


async def show_quota_class_set(req: Request):
    req.ctx.can(f"{VE}:quota_classes", c.target(req))
    name = req.path_params["class_name"]
    async with req.rt.db.reader() as s:
        limits = await _svc(req).class_limits(s, name)
    return json_response({"quota_class_set": {"id": name, **limits}})


async def update_quota_class_set(req: Request):
    name = req.path_params["class_name"]
    values = _values(await read_json(req), "quota_class_set")
    req.ctx.can(f"{VE}:quota_classes:update", c.target(req))
    async with req.rt.db.session() as s:
        await _svc(req).set_class_limits(s, name, values)
        limits = await _svc(req).class_limits(s, name)
    return json_response({"quota_class_set": limits})


async def show_limits(req: Request):
    c.url_project_check(req)
    pid = req.ctx.project_id or ""
    if req.ctx.api_version >= (3, 39) and req.query_params.get("project_id"):
        pid = req.query_params["project_id"]
    req.ctx.can("limits_extension:used_limits", c.target(req, pid))
    async with req.rt.db.reader() as s:
        limits = await _svc(req).limits(s, pid)
        usages = await _svc(req).usages(s, pid)

    def used(resource: str) -> int:
        u = usages.get(resource)
        return u.in_use if u else 0

    absolute = {"maxTotalVolumes": limits["volumes"], "maxTotalSnapshots": limits["snapshots"],
                "maxTotalVolumeGigabytes": limits["gigabytes"], "maxTotalBackups": limits["backups"],
                "maxTotalBackupGigabytes": limits["backup_gigabytes"], "totalVolumesUsed": used("volumes"),
                "totalGigabytesUsed": used("gigabytes"), "totalSnapshotsUsed": used("snapshots"),
                "totalBackupsUsed": used("backups"), "totalBackupGigabytesUsed": used("backup_gigabytes")}
    return json_response({"limits": {"rate": [], "absolute": absolute}})
