"""Handlers for /backups: create, list, detail, show, update (3.9), delete, restore, the admin
actions (reset status, force delete), export_record and import_record."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

SORT_KEYS = {"id": "id", "name": "name", "status": "status", "size": "size", "created_at": "created_at",
             "updated_at": "updated_at", "volume_id": "volume_id", "availability_zone": "availability_zone",
             "data_timestamp": "data_timestamp"}
FILTERS = {"name": "name", "status": "status", "volume_id": "volume_id"}
CONTAINER = {"type": ["string", "null"], "maxLength": 255}

CREATE = {"type": "object", "required": ["backup"], "properties": {"backup": {
    "type": "object", "required": ["volume_id"], "properties": {
        "volume_id": {"type": "string", "minLength": 1, "maxLength": 255}, "container": CONTAINER,
        "name": c.NAME, "description": c.DESCRIPTION, "incremental": c.BOOLEAN, "force": c.BOOLEAN,
        "snapshot_id": {"type": ["string", "null"], "maxLength": 255},
        "metadata": {**c.METADATA, "type": ["object", "null"]},
        "availability_zone": {"type": ["string", "null"], "maxLength": 255}},
    "additionalProperties": False}}, "additionalProperties": False}
UPDATE = {"type": "object", "required": ["backup"], "properties": {"backup": {
    "type": "object", "properties": {"name": c.NAME, "description": c.DESCRIPTION, "metadata": c.METADATA},
    "additionalProperties": False}}, "additionalProperties": False}
RESTORE = {"type": "object", "required": ["restore"], "properties": {"restore": {
    "type": ["object", "null"], "properties": {
        "volume_id": {"type": ["string", "null"], "maxLength": 255}, "name": c.NAME},
    "additionalProperties": False}}, "additionalProperties": False}
IMPORT = {"type": "object", "required": ["backup-record"], "properties": {"backup-record": {
    "type": "object", "required": ["backup_service", "backup_url"], "properties": {
        "backup_service": {"type": "string", "minLength": 1, "maxLength": 255},
        "backup_url": {"type": "string", "minLength": 1}}, "additionalProperties": False}},
    "additionalProperties": False}
RESET = {"type": "object", "required": ["os-reset_status"], "properties": {"os-reset_status": {
    "type": "object", "required": ["status"], "properties": {
        "status": {"type": "string", "enum": ["available", "error"]}}, "additionalProperties": False}}}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].backups


def summary(req: Request, r: Any) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "links": c.links(req, "backups", r.id)}


def view(req: Request, r: Any) -> dict[str, Any]:
    ver = req.ctx.api_version
    out: dict[str, Any] = {
        **summary(req, r), "description": r.description, "status": r.status, "fail_reason": r.fail_reason,
        "availability_zone": r.availability_zone, "volume_id": r.volume_id, "snapshot_id": r.snapshot_id,
        "size": r.size, "object_count": r.object_count, "container": r.container,
        "created_at": c.isotime(r.created_at), "updated_at": c.isotime(r.updated_at),
        "data_timestamp": c.isotime(r.data_timestamp), "is_incremental": r.is_incremental,
        "has_dependent_backups": r.num_dependent_backups > 0}
    if ver >= (3, 18) and req.ctx.allowed("backup:backup_project_attribute", {"project_id": r.project_id}):
        out["os-backup-project-attr:project_id"] = r.project_id
    if ver >= (3, 43):
        out["metadata"] = dict(r.metadata_ or {})
    if ver >= (3, 56):
        out["user_id"] = r.user_id
    if ver >= (3, 64):
        out["encryption_key_id"] = None
    return out


async def _owned(req: Request, rule: str) -> set[str] | None:
    see = c.owned(req)
    bid = req.path_params["backup_id"]
    owner = await _svc(req).owner(bid)
    if see is not None and owner["project_id"] not in see:
        raise exc.BackupNotFound(bid)
    req.ctx.can(rule, owner)
    return see


async def create_backup(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), CREATE)["backup"]
    req.ctx.can("backup:create", c.target(req))
    if body.get("metadata") and req.ctx.api_version < (3, 43):
        raise exc.InvalidInput("metadata of backups needs microversion 3.43 or later.")
    row = await _svc(req).create(
        req.ctx, body["volume_id"], None if req.ctx.is_admin else {req.ctx.project_id or ""},
        name=body.get("name"), description=body.get("description"), container=body.get("container"),
        incremental=c.as_bool(body.get("incremental", False)), force=c.as_bool(body.get("force", False)),
        metadata=body.get("metadata") or {}, availability_zone=body.get("availability_zone"),
        snapshot_id=body.get("snapshot_id") or None)
    return json_response({"backup": summary(req, row)}, status=202)


def _sort(req: Request) -> list[tuple[str, str]]:
    q = req.query_params
    items = []
    if q.get("sort"):
        for part in q["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            items.append((key, direction or "desc"))
    else:
        items.append((q.get("sort_key", "created_at"), q.get("sort_dir", "desc")))
    out = []
    for key, direction in items:
        if key not in SORT_KEYS or direction.lower() not in ("asc", "desc"):
            raise exc.InvalidInput(f"Invalid sort {key}:{direction}.")
        out.append((SORT_KEYS[key], direction.lower()))
    return out


async def _list(req: Request, detail: bool):
    see = c.visible_projects(req, "volume:get_all_tenants")
    req.ctx.can("backup:get_all", c.target(req))
    filters = {FILTERS[k]: v for k, v in req.query_params.items() if k in FILTERS}
    limit, marker = c.limit_marker(req, req.rt.service_conf.osapi_max_limit)
    rows = await _svc(req).list(see, filters=filters, sort=_sort(req), limit=limit, marker=marker)
    body: dict[str, Any] = {"backups": [view(req, r) if detail else summary(req, r) for r in rows]}
    if limit and len(rows) == limit:
        body["backups_links"] = c.next_link(req, "backups/detail" if detail else "backups", rows[-1].id)
    return json_response(body)


async def list_backups(req: Request):
    return await _list(req, detail=False)


async def list_backups_detail(req: Request):
    return await _list(req, detail=True)


async def show_backup(req: Request):
    see = await _owned(req, "backup:get")
    return json_response({"backup": view(req, await _svc(req).show(req.path_params["backup_id"], see))})


async def update_backup(req: Request):
    body = c.validate(await read_json(req), UPDATE)["backup"]
    if "metadata" in body and req.ctx.api_version < (3, 43):
        raise exc.InvalidInput("metadata of backups needs microversion 3.43 or later.")
    see = await _owned(req, "backup:update")
    row = await _svc(req).update(req.path_params["backup_id"], see, body)
    return json_response({"backup": view(req, row)})


async def delete_backup(req: Request):
    see = await _owned(req, "backup:delete")
    await _svc(req).delete(req.path_params["backup_id"], see, force=False)
    return empty_response(202)


async def restore_backup(req: Request):
    body = c.validate(await read_json(req), RESTORE)["restore"] or {}
    see = await _owned(req, "backup:restore")
    backup, volume = await _svc(req).restore(req.ctx, req.path_params["backup_id"], see,
                                             volume_id=body.get("volume_id"), name=body.get("name"))
    return json_response({"restore": {"backup_id": backup.id, "volume_id": volume.id,
                                      "volume_name": volume.name}}, status=202)


async def backup_action(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or len(body) != 1:
        raise exc.BadRequest("Malformed request body: name exactly one action.")
    (action,) = body
    if action == "os-reset_status":
        body = c.validate(body, RESET)
        await _owned(req, "volume_extension:backup_admin_actions:reset_status")
        await _svc(req).reset_status(req.path_params["backup_id"], body[action]["status"])
        return empty_response(202)
    if action == "os-force_delete":
        see = await _owned(req, "volume_extension:backup_admin_actions:force_delete")
        await _svc(req).delete(req.path_params["backup_id"], see, force=True)
        return empty_response(202)
    raise exc.BadRequest(f"There is no such action: {action}")


async def export_record(req: Request):
    see = await _owned(req, "backup:export-import")
    row = await _svc(req).show(req.path_params["backup_id"], see)
    return json_response({"backup-record": _svc(req).export_record(row)})


async def import_record(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), IMPORT)["backup-record"]
    req.ctx.can("backup:export-import", c.target(req))
    row = await _svc(req).import_record(req.ctx, body["backup_service"], body["backup_url"])
    return json_response({"backup": summary(req, row)}, status=201)
