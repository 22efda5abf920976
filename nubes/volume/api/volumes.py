"""Handlers for /volumes: create (blank), list, detail, summary, show, update, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c
from nubes.volume.api import volume_create_sources
from nubes.volume.service.volumes import CreateRequest, VolumeView

SORT_KEYS = {
    "id": "id", "name": "name", "display_name": "name", "size": "size", "status": "status",
    "created_at": "created_at", "updated_at": "updated_at", "availability_zone": "availability_zone",
    "bootable": "bootable", "project_id": "project_id", "host": "host"}
FILTERS = {"name": "name", "display_name": "name", "status": "status", "availability_zone": "availability_zone",
           "bootable": "bootable", "size": "size", "user_id": "user_id", "group_id": "group_id",
           "host": "host"}
LIKE = {"name", "status", "availability_zone"}
ADMIN_FILTERS = {"host"}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].volumes


# As Cinder's: ``size`` may be left out when a source gives it (volume_create_sources checks).
CREATE = {"type": "object", "required": ["volume"], "properties": {"volume": {
    "type": "object", "properties": {
        "size": {"type": ["integer", "string", "null"], "pattern": r"^[0-9]+$", "minimum": 1, "maximum": 2**31 - 1},
        "name": c.NAME, "display_name": c.NAME, "description": c.DESCRIPTION,
        "display_description": c.DESCRIPTION, "metadata": {**c.METADATA, "type": ["object", "null"]},
        "volume_type": {"type": ["string", "null"],
                                                                                      "maxLength": 255},
        "availability_zone": {"type": ["string", "null"], "maxLength": 255}, "multiattach": c.BOOLEAN,
        "snapshot_id": {"type": ["string", "null"]}, "source_volid": {"type": ["string", "null"]},
        "imageRef": {"type": ["string", "null"]}, "image_id": {"type": ["string", "null"]},
        "backup_id": {"type": ["string", "null"]}, "consistencygroup_id": {"type": ["string", "null"]},
        "group_id": {"type": ["string", "null"]}, "scheduler_hints": {"type": ["object", "null"]}},
    "additionalProperties": False}, "OS-SCH-HNT:scheduler_hints": {"type": ["object", "null"]}}}

UPDATE = {"type": "object", "required": ["volume"], "properties": {"volume": {
    "type": "object", "properties": {
        "name": c.NAME, "display_name": c.NAME, "description": c.DESCRIPTION, "display_description": c.DESCRIPTION,
        "metadata": c.METADATA}, "additionalProperties": False}}, "additionalProperties": False}


def view(req: Request, v: VolumeView) -> dict[str, Any]:
    r = v.row
    ver = req.ctx.api_version
    tgt = {"project_id": r.project_id, "user_id": r.user_id}
    out: dict[str, Any] = {
        "id": r.id, "name": r.name, "description": r.description, "size": r.size, "status": r.status,
        "availability_zone": r.availability_zone, "bootable": "true" if r.bootable else "false",
        "encrypted": r.encrypted, "multiattach": r.multiattach, "metadata": v.metadata,
        "volume_type": v.type_name, "snapshot_id": r.snapshot_id, "source_volid": r.source_volid,
        "consistencygroup_id": r.consistencygroup_id, "replication_status": r.replication_status,
        "migration_status": r.migration_status, "user_id": r.user_id,
        "created_at": c.isotime(r.created_at), "updated_at": c.isotime(r.updated_at),
        "links": c.links(req, "volumes", r.id),
        "attachments": [{"id": a.volume_id, "attachment_id": a.id, "volume_id": a.volume_id,
                         "server_id": a.instance_uuid, "host_name": a.attached_host, "device": a.mountpoint,
                         "attached_at": c.isotime(a.attach_time)}
                        for a in v.attachments if a.attach_status == "attached"],
    }
    if req.ctx.allowed("volume_extension:volume_tenant_attribute", tgt):
        out["os-vol-tenant-attr:tenant_id"] = r.project_id
    if req.ctx.allowed("volume_extension:volume_host_attribute", tgt):
        out["os-vol-host-attr:host"] = r.host
    if req.ctx.allowed("volume_extension:volume_mig_status_attribute", tgt):
        out["os-vol-mig-status-attr:migstat"] = r.migration_status
        out["os-vol-mig-status-attr:name_id"] = None
    if v.image_metadata and req.ctx.allowed("volume_extension:volume_image_metadata:show", tgt):
        out["volume_image_metadata"] = v.image_metadata
    if ver >= (3, 13):
        out["group_id"] = r.group_id
    if ver >= (3, 21) and req.ctx.is_admin:
        out["provider_id"] = r.provider_id
    if ver >= (3, 48):
        out["shared_targets"] = False
        out["service_uuid"] = None
    if ver >= (3, 61) and req.ctx.is_admin:
        out["cluster_name"] = None
    if ver >= (3, 63):
        out["volume_type_id"] = r.volume_type_id
    if ver >= (3, 64):
        out["encryption_key_id"] = None
    if ver >= (3, 65):
        out["consumes_quota"] = r.use_quota
    return out


def summary_view(req: Request, v: VolumeView) -> dict[str, Any]:
    return {"id": v.row.id, "name": v.row.name, "links": c.links(req, "volumes", v.row.id)}


async def create_volume(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), CREATE)["volume"]
    req.ctx.can("volume:create", c.target(req))
    source = await volume_create_sources.sources(req, body)
    multiattach = c.as_bool(body.get("multiattach", False))
    if multiattach:
        req.ctx.can("volume:multiattach", c.target(req))
    request = CreateRequest(
        size=None if body.get("size") is None else int(body["size"]), name=body.get("name", body.get("display_name")),
        description=body.get("description", body.get("display_description")),
        metadata=body.get("metadata") or {}, volume_type=body.get("volume_type"),
        availability_zone=body.get("availability_zone"), multiattach=multiattach, **source)
    v = await _svc(req).create(req.ctx, request)
    return json_response({"volume": view(req, v)}, status=202)


def _times(req: Request) -> list[tuple[str, str, datetime]]:
    out = []
    for key in ("created_at", "updated_at"):
        raw = req.query_params.get(key)
        if raw is None:
            continue
        if req.ctx.api_version < (3, 60):
            raise exc.InvalidInput(f"Invalid filter keys: {key}")
        op, _, when = raw.partition(":")
        if op not in ("gt", "gte", "lt", "lte", "eq", "neq") or not when:
            raise exc.InvalidInput(f"Invalid filter {key}={raw}: expected <gt|gte|lt|lte|eq|neq>:<time>.")
        try:
            stamp = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError:
            raise exc.InvalidInput(f"Invalid time {when!r} in filter {key}.") from None
        out.append((key, op, stamp))
    return out


async def _list(req: Request, detail: bool):
    see = c.visible_projects(req, "volume:get_all_tenants")
    req.ctx.can("volume:get_all", c.target(req))
    q = req.query_params
    ver = req.ctx.api_version
    filters: dict[str, Any] = {}
    like: set[str] = set()
    metadata: dict[str, str] = {}
    for key, value in q.multi_items():
        if key in ("limit", "marker", "sort", "sort_key", "sort_dir", "all_tenants", "project_id", "with_count",
                   "offset", "created_at", "updated_at"):
            continue
        if key == "metadata":
            metadata = _metadata_filter(value)
            continue
        name = key[:-1] if key.endswith("~") and ver >= (3, 34) else key
        if name not in FILTERS or (name in ADMIN_FILTERS and not req.ctx.is_admin):
            continue            # Cinder ignores filters it does not know for a caller
        column = FILTERS[name]
        if column == "bootable":
            filters[column] = c.as_bool(value)
        elif column == "size":
            if not value.isdigit():
                raise exc.InvalidInput(f"Invalid size filter {value!r}.")
            filters[column] = int(value)
        else:
            filters[column] = value
            if key.endswith("~") and column in LIKE:
                like.add(column)
    sort = _sort(req)
    limit, marker = c.limit_marker(req, req.rt.service_conf.osapi_max_limit)
    with_count = ver >= (3, 45) and c.as_bool(q.get("with_count", "false"))
    views, count = await _svc(req).list(see, filters=filters, metadata=metadata, like=like, times=_times(req),
                                        sort=sort, limit=limit, marker=marker, with_count=with_count)
    render = view if detail else summary_view
    body: dict[str, Any] = {"volumes": [render(req, v) for v in views]}
    page = limit if limit is not None else req.rt.service_conf.osapi_max_limit
    if views and len(views) == page:
        body["volumes_links"] = c.next_link(req, "volumes/detail" if detail else "volumes", views[-1].row.id)
    if count is not None:
        body["count"] = count
    return json_response(body)


def _metadata_filter(raw: str) -> dict[str, str]:
    import ast

    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        raise exc.InvalidInput(f"Invalid metadata filter {raw!r}: expected a dict.") from None
    if not isinstance(value, dict):
        raise exc.InvalidInput(f"Invalid metadata filter {raw!r}: expected a dict.")
    return {str(k): str(v) for k, v in value.items()}


def _sort(req: Request) -> list[tuple[str, str]]:
    q = req.query_params
    items: list[tuple[str, str]] = []
    if q.get("sort"):
        for part in q["sort"].split(","):
            key, _, direction = part.strip().partition(":")
            items.append((key, direction or "desc"))
    elif q.get("sort_key") or q.get("sort_dir"):
        items.append((q.get("sort_key", "created_at"), q.get("sort_dir", "desc")))
    else:
        items.append(("created_at", "desc"))
    out = []
    for key, direction in items:
        if key not in SORT_KEYS:
            raise exc.InvalidInput(f"Invalid sort key {key}.")
        if direction.lower() not in ("asc", "desc"):
            raise exc.InvalidInput(f"Invalid sort dirs passed: {direction}")
        out.append((SORT_KEYS[key], direction.lower()))
    return out


async def list_volumes(req: Request):
    return await _list(req, detail=False)


async def list_volumes_detail(req: Request):
    return await _list(req, detail=True)


async def volume_summary(req: Request):
    see = c.visible_projects(req, "volume:get_all_tenants")
    req.ctx.can("volume:get_volume_summary", c.target(req))
    count, total, metadata = await _svc(req).summary(see)
    body: dict[str, Any] = {"total_size": total, "total_count": count}
    if req.ctx.api_version >= (3, 36):
        body["metadata"] = metadata
    return json_response({"volume-summary": body})


async def _owned(req: Request, rule: str) -> set[str] | None:
    see = c.owned(req)
    vid = req.path_params["volume_id"]
    try:
        owner = await _svc(req).owner(vid)
    except exc.VolumeNotFound:
        raise
    if see is not None and owner["project_id"] not in see:
        raise exc.VolumeNotFound(vid)
    req.ctx.can(rule, owner)
    return see


async def show_volume(req: Request):
    see = await _owned(req, "volume:get")
    return json_response({"volume": view(req, await _svc(req).show(req.path_params["volume_id"], see))})


async def update_volume(req: Request):
    body = c.validate(await read_json(req), UPDATE)["volume"]
    see = await _owned(req, "volume:update")
    changes: dict[str, Any] = {}
    for new, old in (("name", "display_name"), ("description", "display_description")):
        if new in body or old in body:
            changes[new] = body.get(new, body.get(old))
    if "metadata" in body:
        changes["metadata"] = body["metadata"]
    v = await _svc(req).update(req.path_params["volume_id"], see, changes)
    return json_response({"volume": view(req, v)})


async def delete_volume(req: Request):
    q = req.query_params
    cascade = c.as_bool(q.get("cascade", "false"))
    force = c.as_bool(q.get("force", "false"))
    see = await _owned(req, "volume:delete")
    if force:
        req.ctx.can("volume:force_delete", await _svc(req).owner(req.path_params["volume_id"]))
    await _svc(req).delete(req.path_params["volume_id"], see, cascade=cascade, force=force)
    return empty_response(202)
