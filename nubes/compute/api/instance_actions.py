"""Handlers for /servers/{id}/os-instance-actions[/{request_id}] per microversion."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api.server_list import _time
from nubes.compute.api.server_views import host_id
from nubes.compute.api.times import isotime_us

P = "os_compute_api:os-instance-actions"


def _action(req: Request, row: Any) -> dict[str, Any]:
    out = {"action": row.action, "instance_uuid": row.instance_id, "message": row.message,
           "project_id": row.project_id, "request_id": row.request_id, "start_time": isotime_us(row.start_time),
           "user_id": row.user_id}
    if req.ctx.api_version >= (2, 58):
        out["updated_at"] = isotime_us(row.updated_at)
    return out


def _event(req: Request, e: Any, project_id: str) -> dict[str, Any]:
    version, ctx = req.ctx.api_version, req.ctx
    target = {"project_id": project_id}
    out: dict[str, Any] = {"event": e.event, "start_time": isotime_us(e.start_time),
                           "finish_time": isotime_us(e.finish_time), "result": e.result}
    if ctx.allowed(f"{P}:events", target):
        out["traceback"] = e.traceback
        if version >= (2, 62):
            out["host"] = e.host or ""
    if version >= (2, 62):
        out["hostId"] = host_id(project_id, e.host)
    if version >= (2, 84) and ctx.allowed(f"{P}:events:details", target):
        out["details"] = e.details
    return out


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].instance_actions


async def list_instance_actions(req: Request):
    version, q = req.ctx.api_version, req.query_params
    limit = marker = since = before = None
    if version >= (2, 58):
        if "limit" in q:
            if not q["limit"].isdigit():
                raise exc.BadRequest(f"Invalid input for query parameters limit. Value: {q['limit']}.")
            limit = min(int(q["limit"]), req.rt.service_conf.osapi_max_limit)
        marker = q.get("marker")
        since = _time("changes-since", q["changes-since"]) if "changes-since" in q else None
    if version >= (2, 66) and "changes-before" in q:
        before = _time("changes-before", q["changes-before"])
    if since and before and since > before:
        raise exc.BadRequest("The value of changes-since must be less than or equal to changes-before.")
    sid = req.path_params["server_id"]
    req.ctx.can(f"{P}:list", await _svc(req).owner(req.ctx, sid, with_deleted=version >= (2, 21)))
    rows = await _svc(req).list(req.ctx, sid, with_deleted=version >= (2, 21), changes_since=since,
                                changes_before=before, limit=limit, marker=marker)
    body: dict[str, Any] = {"instanceActions": [_action(req, r) for r in rows]}
    if limit and len(rows) == limit:
        body["links"] = links.next_link(req, f"servers/{sid}/os-instance-actions", rows[-1].request_id)
    return json_response(body)


async def show_instance_action(req: Request):
    version = req.ctx.api_version
    req.ctx.can(f"{P}:show", await _svc(req).owner(req.ctx, req.path_params["server_id"],
                                                   with_deleted=version >= (2, 21)))
    inst, row = await _svc(req).show(req.ctx, req.path_params["server_id"], req.path_params["request_id"],
                                     with_deleted=version >= (2, 21))
    out = _action(req, row)
    if version >= (2, 51) or req.ctx.allowed(f"{P}:events", {"project_id": inst.project_id}):
        out["events"] = [_event(req, e, inst.project_id) for e in row.events]
    return json_response({"instanceAction": out})
