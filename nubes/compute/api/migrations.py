"""Handlers for /os-migrations and /servers/{id}/migrations[/{id}] (2.23), views per microversion."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.jsondoc import INT64_MAX
from nubes.compute import exceptions as exc
from nubes.compute.api import authz, links
from nubes.compute.api.server_list import _time
from nubes.compute.api.times import isotime_us
from nubes.compute.db.queries.migrations import LIVE_IN_PROGRESS, MigrationFilters


MIGRATIONS = f"{authz.P}:os-migrations"
SERVER_MIGRATIONS = f"{authz.P}:servers:migrations"
HOST_FIELDS = ("dest_compute", "dest_host", "dest_node", "source_compute", "source_node")


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].moves


def _without_hosts(out: dict[str, Any]) -> dict[str, Any]:
    """A migration as a caller who may not see hosts sees it (Nova 2025.2's project manager)."""
    return {**out, **dict.fromkeys(HOST_FIELDS)}


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and int(value) <= INT64_MAX else None


def _common(req: Request, m: Any) -> dict[str, Any]:
    version = req.ctx.api_version
    out: dict[str, Any] = {
        "id": m.id, "created_at": isotime_us(m.created_at), "updated_at": isotime_us(m.updated_at),
        "dest_compute": m.dest_compute, "dest_host": m.dest_host, "dest_node": m.dest_node,
        "source_compute": m.source_compute, "source_node": m.source_node, "status": m.status}
    if version >= (2, 59):
        out["uuid"] = m.uuid
    if version >= (2, 80):
        out["user_id"] = m.user_id
        out["project_id"] = m.project_id
    return out


def migration_view(req: Request, m: Any) -> dict[str, Any]:
    out = _common(req, m)
    out.update(instance_uuid=m.instance_id, old_instance_type_id=_int(m.old_flavor_id),
               new_instance_type_id=_int(m.new_flavor_id))
    if req.ctx.api_version >= (2, 23):
        out["migration_type"] = m.migration_type
        if m.migration_type == "live-migration" and m.status in LIVE_IN_PROGRESS:
            out["links"] = links.links(req, f"servers/{m.instance_id}/migrations", str(m.id))
    return out


def server_migration_view(req: Request, m: Any) -> dict[str, Any]:
    out = _common(req, m)
    out["server_uuid"] = m.instance_id
    for key in ("disk_processed_bytes", "disk_remaining_bytes", "disk_total_bytes", "memory_processed_bytes",
                "memory_remaining_bytes", "memory_total_bytes"):
        out[key] = 0
    return out


def _filters(req: Request) -> tuple[MigrationFilters, int | None, str | None]:
    q, version = req.query_params, req.ctx.api_version
    f = MigrationFilters(host=q.get("host"), status=q.get("status"), instance_id=q.get("instance_uuid"),
                         source_compute=q.get("source_compute"))
    if version >= (2, 23):
        f.migration_type = q.get("migration_type")
    limit = marker = None
    if version >= (2, 59):
        if "limit" in q:
            if not q["limit"].isdigit():
                raise exc.BadRequest(f"Invalid input for query parameters limit. Value: {q['limit']}.")
            limit = min(int(q["limit"]), req.rt.service_conf.osapi_max_limit)
        marker = q.get("marker")
        if "changes-since" in q:
            f.changes_since = _time("changes-since", q["changes-since"])
    if version >= (2, 66) and "changes-before" in q:
        f.changes_before = _time("changes-before", q["changes-before"])
    if f.changes_since and f.changes_before and f.changes_since > f.changes_before:
        raise exc.BadRequest("The value of changes-since must be less than or equal to changes-before.")
    if version >= (2, 80):
        f.user_id, f.project_id = q.get("user_id"), q.get("project_id")
    return f, limit, marker


async def list_migrations(req: Request):
    f, limit, marker = _filters(req)
    authz.own(req, f"{MIGRATIONS}:index")
    if not authz.allowed_own(req, f"{MIGRATIONS}:index:all_projects"):
        f.project_id = req.ctx.project_id     # the caller's own project's migrations only
    hosts = authz.allowed_own(req, f"{MIGRATIONS}:index:host")
    rows = await _svc(req).list(req.ctx, f, limit, marker)
    views = [migration_view(req, m) for m in rows]
    body: dict[str, Any] = {"migrations": views if hosts else [_without_hosts(m) for m in views]}
    if limit and len(rows) == limit:
        body["migrations_links"] = links.next_link(req, "os-migrations", rows[-1].uuid)
    return json_response(body)


async def list_server_migrations(req: Request):
    owner = await authz.server(req, f"{SERVER_MIGRATIONS}:index")
    hosts = req.ctx.allowed(f"{SERVER_MIGRATIONS}:index:host", owner.target)
    rows = await _svc(req).of_server(req.ctx, req.path_params["server_id"])
    views = [server_migration_view(req, m) for m in rows]
    return json_response({"migrations": views if hosts else [_without_hosts(m) for m in views]})


async def show_server_migration(req: Request):
    raw = req.path_params["migration_id"]
    if not raw.isdigit() or int(raw) > INT64_MAX:
        raise exc.MigrationNotFound(raw, req.path_params["server_id"])
    await authz.server(req, f"{SERVER_MIGRATIONS}:show")
    (m,) = await _svc(req).of_server(req.ctx, req.path_params["server_id"], int(raw))
    return json_response({"migration": server_migration_view(req, m)})
