"""Handlers for /os-simple-tenant-usage (all projects, admins) and /os-simple-tenant-usage/{project_id}."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api.times import isotime_us
from nubes.compute.service.usage import Window

FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")


def _parse(raw: str | None) -> datetime:
    if not raw:
        return utcnow()
    for fmt in FORMATS:
        try:
            return datetime.strptime(raw, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise exc.BadRequest("Invalid datetime string: Datetime is in invalid format") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _window(req: Request) -> Window:
    q = req.query_params
    start, stop = _parse(q.get("start")), _parse(q.get("end"))
    if not start < stop:
        raise exc.BadRequest("Invalid start time. The start time cannot occur after the end time.")
    # Nova takes only "1"; openstacksdk (so `openstack usage list`) sends "True", which Nova reads as not
    # detailed and the client then shows no server count. Both mean detailed here.
    w = Window(start, stop, detailed=q.get("detailed", "0").lower() in ("1", "true"))
    if req.ctx.api_version >= (2, 40):
        limit = q.get("limit")
        if limit is not None and not limit.isdigit():
            raise exc.BadRequest(f"Invalid input for query parameters limit. Value: {limit}.")
        w.limit = min(int(limit), req.rt.service_conf.osapi_max_limit) if limit else \
            req.rt.service_conf.osapi_max_limit
        w.marker = q.get("marker")
    return w


def _naive(dt: datetime | None) -> str | None:
    return isotime_us(dt)


def view(summary: dict[str, Any]) -> dict[str, Any]:
    if not summary:
        return {}
    out = {**summary, "start": _naive(summary["start"]), "stop": _naive(summary["stop"])}
    if "server_usages" in summary:
        out["server_usages"] = [{**u, "started_at": _naive(u["started_at"]), "ended_at": _naive(u["ended_at"])}
                                for u in summary["server_usages"]]
    return out


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].usage


USAGE = "os_compute_api:os-simple-tenant-usage"


async def list_usage(req: Request):
    if req.scope["path"].endswith("/"):
        # /os-simple-tenant-usage/ is a show with an empty project id, which Nova does not find.
        raise exc.NotFound("The resource could not be found.")
    w = _window(req)
    req.ctx.can(f"{USAGE}:list", {"project_id": req.ctx.project_id})
    usages, nxt = await _svc(req).list(req.ctx, w)
    body: dict[str, Any] = {"tenant_usages": [view(u) for u in usages]}
    if nxt:
        body["tenant_usages_links"] = links.next_link(req, "os-simple-tenant-usage", nxt)
    return json_response(body)


async def show_usage(req: Request):
    project_id = req.path_params["project_id"]
    w = _window(req)
    req.ctx.can(f"{USAGE}:show", {"project_id": project_id})
    usage, nxt = await _svc(req).show(req.ctx, project_id, w)
    body: dict[str, Any] = {"tenant_usage": view(usage)}
    if nxt:
        body["tenant_usage_links"] = links.next_link(req, f"os-simple-tenant-usage/{project_id}", nxt)
    return json_response(body)
