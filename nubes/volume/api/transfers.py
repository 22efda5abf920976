"""Handlers for volume transfers: ``/volume-transfers`` (3.55, ``no_snapshots``) and the legacy
``/os-volume-transfer``; create, list, detail, show, delete, accept."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

SORT_KEYS = {"id": "id", "name": "name", "created_at": "created_at", "updated_at": "updated_at",
             "volume_id": "volume_id"}
FILTERS = {"name": "name", "volume_id": "volume_id"}

CREATE = {"type": "object", "required": ["transfer"], "properties": {"transfer": {
    "type": "object", "required": ["volume_id"], "properties": {
        "volume_id": {"type": "string", "minLength": 1, "maxLength": 255}, "name": c.NAME,
        "no_snapshots": c.BOOLEAN}, "additionalProperties": False}}, "additionalProperties": False}
ACCEPT = {"type": "object", "required": ["accept"], "properties": {"accept": {
    "type": "object", "required": ["auth_key"], "properties": {
        "auth_key": {"type": "string", "minLength": 1, "maxLength": 255}}, "additionalProperties": False}},
    "additionalProperties": False}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].transfers


def _collection(req: Request) -> str:
    return "os-volume-transfer" if "/os-volume-transfer" in req.url.path else "volume-transfers"


def summary(req: Request, r: Any) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "volume_id": r.volume_id, "links": c.links(req, _collection(req), r.id)}


def view(req: Request, r: Any) -> dict[str, Any]:
    out = {**summary(req, r), "created_at": c.isotime(r.created_at)}
    ver = req.ctx.api_version
    if ver >= (3, 55):
        out["no_snapshots"] = r.no_snapshots
    if ver >= (3, 57):
        out.update(source_project_id=r.source_project_id, destination_project_id=r.destination_project_id,
                   accepted=r.accepted)
    return out


async def _owned(req: Request, rule: str) -> set[str] | None:
    see = c.owned(req)
    tid = req.path_params["transfer_id"]
    row = await _svc(req).show(tid, see)
    req.ctx.can(rule, {"project_id": row.source_project_id})
    return see


async def create_transfer(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), CREATE)["transfer"]
    req.ctx.can("volume:create_transfer", c.target(req))
    no_snapshots = c.as_bool(body.get("no_snapshots", False))
    if "no_snapshots" in body and (_collection(req) == "os-volume-transfer" or req.ctx.api_version < (3, 55)):
        raise exc.InvalidInput("no_snapshots needs /volume-transfers and microversion 3.55 or later.")
    row, key = await _svc(req).create(body["volume_id"], None if req.ctx.is_admin else {req.ctx.project_id or ""},
                                      name=body.get("name"), no_snapshots=no_snapshots)
    return json_response({"transfer": {**view(req, row), "auth_key": key}}, status=202)


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
    req.ctx.can("volume:get_all_transfers", c.target(req))
    filters = {FILTERS[k]: v for k, v in req.query_params.items() if k in FILTERS}
    limit, marker = c.limit_marker(req, req.rt.service_conf.osapi_max_limit)
    rows = await _svc(req).list(see, filters=filters, sort=_sort(req), limit=limit, marker=marker)
    body: dict[str, Any] = {"transfers": [view(req, r) if detail else summary(req, r) for r in rows]}
    if limit and len(rows) == limit:
        path = _collection(req) + ("/detail" if detail else "")
        body["transfers_links"] = c.next_link(req, path, rows[-1].id)
    return json_response(body)


async def list_transfers(req: Request):
    return await _list(req, detail=False)


async def list_transfers_detail(req: Request):
    return await _list(req, detail=True)


async def show_transfer(req: Request):
    see = await _owned(req, "volume:get_transfer")
    return json_response({"transfer": view(req, await _svc(req).show(req.path_params["transfer_id"], see))})


async def delete_transfer(req: Request):
    see = await _owned(req, "volume:delete_transfer")
    await _svc(req).delete(req.path_params["transfer_id"], see)
    return empty_response(202)


async def accept_transfer(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), ACCEPT)["accept"]
    req.ctx.can("volume:accept_transfer", c.target(req))
    row = await _svc(req).accept(req.ctx, req.path_params["transfer_id"], body["auth_key"])
    return json_response({"transfer": summary(req, row)}, status=202)
