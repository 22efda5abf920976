"""Handlers for /messages (3.3) and /resource_filters (3.33)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.volume.api import common as c

FILTERS = {"name", "status", "metadata", "bootable", "migration_status", "availability_zone", "group_id",
           "size", "created_at", "updated_at"}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].messages


def _view(req: Request, m: Any) -> dict[str, Any]:
    return {"id": m.id, "request_id": m.request_id, "resource_type": m.resource_type,
            "resource_uuid": m.resource_uuid, "event_id": m.event_id, "message_level": m.message_level,
            "user_message": m.user_message, "created_at": c.isotime(m.created_at),
            "guaranteed_until": c.isotime(m.expires_at), "links": c.links(req, "messages", m.id)}


async def list_messages(req: Request):
    see = c.visible_projects(req, "volume:get_all_tenants")
    req.ctx.can("message:get_all", c.target(req))
    limit, marker = (c.limit_marker(req, 1000) if req.ctx.api_version >= (3, 5) else (None, None))
    filters = {k: v for k, v in req.query_params.items()
               if k in ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")}
    desc = req.query_params.get("sort_dir", "desc") != "asc"
    rows = await _svc(req).list(see, filters, limit, marker, desc)
    body: dict[str, Any] = {"messages": [_view(req, m) for m in rows]}
    if limit and len(rows) == limit:
        body["messages_links"] = c.next_link(req, "messages", rows[-1].id)
    return json_response(body)


async def show_message(req: Request):
    m = await _svc(req).get(req.path_params["message_id"], c.owned(req))
    req.ctx.can("message:get", {"project_id": m.project_id})
    return json_response({"message": _view(req, m)})


async def delete_message(req: Request):
    m = await _svc(req).get(req.path_params["message_id"], c.owned(req))
    req.ctx.can("message:delete", {"project_id": m.project_id})
    await _svc(req).delete(m.id, None)
    return empty_response(204)


async def list_resource_filters(req: Request):
    c.url_project_check(req)
    req.ctx.can("volume:get_resource_filters", c.target(req))
    wanted = req.query_params.get("resource")
    out = [{"resource": "volume", "filters": sorted(FILTERS)}]
    if wanted:
        out = [r for r in out if r["resource"] == wanted]
    return json_response({"resource_filters": out})
