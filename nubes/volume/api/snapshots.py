"""Handlers for /snapshots and /snapshots/{snapshot_id}/metadata."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

SORT_KEYS = {"id": "id", "name": "name", "display_name": "name", "status": "status", "size": "volume_size",
             "created_at": "created_at", "updated_at": "updated_at", "volume_id": "volume_id"}
FILTERS = {"name": "name", "display_name": "name", "status": "status", "volume_id": "volume_id"}

CREATE = {"type": "object", "required": ["snapshot"], "properties": {"snapshot": {
    "type": "object", "required": ["volume_id"], "properties": {
        "volume_id": {"type": "string", "minLength": 1, "maxLength": 255}, "name": c.NAME, "display_name": c.NAME,
        "description": c.DESCRIPTION, "display_description": c.DESCRIPTION, "force": c.BOOLEAN,
        "metadata": {**c.METADATA, "type": ["object", "null"]}}, "additionalProperties": False}},
    "additionalProperties": False}
UPDATE = {"type": "object", "required": ["snapshot"], "properties": {"snapshot": {
    "type": "object", "properties": {"name": c.NAME, "display_name": c.NAME, "description": c.DESCRIPTION,
                                     "display_description": c.DESCRIPTION}, "additionalProperties": False}},
    "additionalProperties": False}
META = {"type": "object", "required": ["metadata"], "properties": {"metadata": c.METADATA}}
ITEM = {"type": "object", "required": ["meta"], "properties": {"meta": {**c.METADATA, "minProperties": 1,
                                                                         "maxProperties": 1}}}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].snapshots


def view(req: Request, v: Any) -> dict[str, Any]:
    r = v.row
    out: dict[str, Any] = {
        "id": r.id, "name": r.name, "description": r.description, "status": r.status, "size": r.volume_size,
        "volume_id": r.volume_id, "metadata": v.metadata, "created_at": c.isotime(r.created_at),
        "updated_at": c.isotime(r.updated_at)}
    if req.ctx.allowed("volume_extension:extended_snapshot_attributes", {"project_id": r.project_id}):
        out["os-extended-snapshot-attributes:project_id"] = r.project_id
        out["os-extended-snapshot-attributes:progress"] = r.progress
    ver = req.ctx.api_version
    if ver >= (3, 14):
        out["group_snapshot_id"] = r.group_snapshot_id
    if ver >= (3, 41):
        out["user_id"] = r.user_id
    if ver >= (3, 65):
        out["consumes_quota"] = r.use_quota
    return out


async def _owned(req: Request, rule: str) -> set[str] | None:
    see = c.owned(req)
    sid = req.path_params["snapshot_id"]
    owner = await _svc(req).owner(sid)
    if see is not None and owner["project_id"] not in see:
        raise exc.SnapshotNotFound(sid)
    req.ctx.can(rule, owner)
    return see


async def create_snapshot(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), CREATE)["snapshot"]
    req.ctx.can("volume:create_snapshot", c.target(req))
    force = c.as_bool(body.get("force", False))
    v = await _svc(req).create(
        req.ctx, body["volume_id"], None if req.ctx.is_admin else {req.ctx.project_id or ""},
        name=body.get("name", body.get("display_name")),
        description=body.get("description", body.get("display_description")),
        metadata=body.get("metadata") or {}, force=force, allow_in_use=req.ctx.api_version >= (3, 66))
    return json_response({"snapshot": view(req, v)}, status=202)


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
    req.ctx.can("volume:get_all_snapshots", c.target(req))
    filters = {FILTERS[k]: v for k, v in req.query_params.items() if k in FILTERS}
    metadata: dict[str, str] = {}
    if req.query_params.get("metadata") and req.ctx.api_version >= (3, 22):
        from nubes.volume.api.volumes import _metadata_filter

        metadata = _metadata_filter(req.query_params["metadata"])
    limit, marker = c.limit_marker(req, req.rt.service_conf.osapi_max_limit)
    rows = await _svc(req).list(see, filters=filters, metadata=metadata, sort=_sort(req), limit=limit,
                                marker=marker)
    if detail:
        items = [view(req, v) for v in rows]
    else:
        items = [{k: x for k, x in view(req, v).items() if not k.startswith("os-extended-")} for v in rows]
    body: dict[str, Any] = {"snapshots": items}
    if limit and len(rows) == limit:
        body["snapshots_links"] = c.next_link(req, "snapshots/detail" if detail else "snapshots", rows[-1].row.id)
    return json_response(body)


async def list_snapshots(req: Request):
    return await _list(req, detail=False)


async def list_snapshots_detail(req: Request):
    return await _list(req, detail=True)


async def show_snapshot(req: Request):
    see = await _owned(req, "volume:get_snapshot")
    return json_response({"snapshot": view(req, await _svc(req).show(req.path_params["snapshot_id"], see))})


async def update_snapshot(req: Request):
    body = c.validate(await read_json(req), UPDATE)["snapshot"]
    if not body:
        raise exc.BadRequest("Snapshot update needs a name or a description.")
    see = await _owned(req, "volume:update_snapshot")
    changes = {}
    for new, old in (("name", "display_name"), ("description", "display_description")):
        if new in body or old in body:
            changes[new] = body.get(new, body.get(old))
    v = await _svc(req).update(req.path_params["snapshot_id"], see, changes)
    return json_response({"snapshot": view(req, v)})


async def delete_snapshot(req: Request):
    see = await _owned(req, "volume:delete_snapshot")
    await _svc(req).delete(req.path_params["snapshot_id"], see)
    return empty_response(202)


async def list_metadata(req: Request):
    see = await _owned(req, "volume:get_snapshot_metadata")
    return json_response({"metadata": (await _svc(req).show(req.path_params["snapshot_id"], see)).metadata})


async def create_metadata(req: Request):
    body = c.validate(await read_json(req), META)
    see = await _owned(req, "volume:update_snapshot_metadata")
    return json_response({"metadata": await _svc(req).set_metadata(req.path_params["snapshot_id"], see,
                                                                   body["metadata"], replace=False)})


async def replace_metadata(req: Request):
    body = c.validate(await read_json(req), META)
    see = await _owned(req, "volume:update_snapshot_metadata")
    return json_response({"metadata": await _svc(req).set_metadata(req.path_params["snapshot_id"], see,
                                                                   body["metadata"], replace=True)})


async def show_metadata_item(req: Request):
    see = await _owned(req, "volume:get_snapshot_metadata")
    meta = (await _svc(req).show(req.path_params["snapshot_id"], see)).metadata
    key = req.path_params["key"]
    if key not in meta:
        raise exc.MetadataNotFound(f"Snapshot {req.path_params['snapshot_id']} has no metadata with key {key}.")
    return json_response({"meta": {key: meta[key]}})


async def update_metadata_item(req: Request):
    body = c.validate(await read_json(req), ITEM)
    if req.path_params["key"] not in body["meta"]:
        raise exc.BadRequest("Request body and URI mismatch")
    see = await _owned(req, "volume:update_snapshot_metadata")
    await _svc(req).set_metadata(req.path_params["snapshot_id"], see, body["meta"], replace=False)
    return json_response({"meta": body["meta"]})


async def delete_metadata_item(req: Request):
    see = await _owned(req, "volume:delete_snapshot_metadata")
    await _svc(req).delete_metadata_item(req.path_params["snapshot_id"], see, req.path_params["key"])
    return empty_response(200)
