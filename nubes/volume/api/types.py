"""Handlers for /types (extra specs, project access) and /default-types."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

VE = "volume_extension"
SPECS = {"type": "object", "maxProperties": 1024,
         "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
         "additionalProperties": False}
CREATE = {"type": "object", "required": ["volume_type"], "properties": {"volume_type": {
    "type": "object", "required": ["name"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?!\s)[^\x00-\x1f]*(?<!\s)$"},
        "description": c.DESCRIPTION, "os-volume-type-access:is_public": c.BOOLEAN, "extra_specs": SPECS},
    "additionalProperties": False}}, "additionalProperties": False}
UPDATE = {"type": "object", "required": ["volume_type"], "properties": {"volume_type": {
    "type": "object", "properties": {
        "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
                 "pattern": r"^(?!\s)[^\x00-\x1f]*(?<!\s)$"},
        "description": c.DESCRIPTION, "is_public": c.BOOLEAN}, "additionalProperties": False}},
    "additionalProperties": False}
ACCESS = {"type": "object", "required": ["project"], "properties": {
    "project": {"type": "string", "minLength": 1, "maxLength": 255}}, "additionalProperties": False}


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].types


def _db(req: Request) -> Any:
    return req.rt.db


async def _view(req: Request, s: Any, row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "name": row.name, "description": row.description,
                           "is_public": row.is_public, "os-volume-type-access:is_public": row.is_public}
    if req.ctx.allowed(f"{VE}:access_types_extra_specs", c.target(req)):
        out["extra_specs"] = await _svc(req).specs(s, row.id)
    if req.ctx.allowed(f"{VE}:access_types_qos_specs_id", c.target(req)):
        out["qos_specs_id"] = row.qos_specs_id
    return out


async def list_types(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:type_get_all", c.target(req))
    admin = req.ctx.allowed(f"{VE}:types_manage", c.target(req))
    raw = req.query_params.get("is_public")
    is_public = None if raw is None or raw.lower() == "none" else c.as_bool(raw)
    if admin and raw is None:
        is_public = True
    async with _db(req).reader() as s:
        rows = await _svc(req).list(s, project_id=req.ctx.project_id, see_all=admin, is_public=is_public)
        if admin and is_public is True:
            # an admin's default list: public types and the private ones the project may use
            access = await _svc(req).list(s, project_id=req.ctx.project_id, see_all=False, is_public=None)
            rows = rows + [r for r in access if r not in rows]
        return json_response({"volume_types": [await _view(req, s, r) for r in rows]})


async def show_type(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:type_get", c.target(req))
    admin = req.ctx.allowed(f"{VE}:types_manage", c.target(req))
    async with _db(req).reader() as s:
        type_id = req.path_params["type_id"]
        if type_id == "default":
            row = await _svc(req).default_for(s, req.ctx.project_id)
        else:
            row = await _svc(req).get(s, type_id, project_id=req.ctx.project_id, see_all=admin)
        return json_response({"volume_type": await _view(req, s, row)})


async def create_type(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), CREATE)["volume_type"]
    req.ctx.can(f"{VE}:type_create", c.target(req))
    is_public = c.as_bool(body.get("os-volume-type-access:is_public", True))
    async with _db(req).session() as s:
        row = await _svc(req).create(s, body["name"].strip(), body.get("description"), is_public,
                                     body.get("extra_specs") or {})
        return json_response({"volume_type": await _view(req, s, row)})


async def update_type(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), UPDATE)["volume_type"]
    if not any(k in body for k in ("name", "description", "is_public")):
        raise exc.BadRequest("Specify volume type name, description, is_public or a combination thereof.")
    req.ctx.can(f"{VE}:type_update", c.target(req))
    changes = dict(body)
    if "is_public" in changes:
        changes["is_public"] = c.as_bool(changes["is_public"])
    async with _db(req).session() as s:
        row = await _svc(req).update(s, req.path_params["type_id"], changes)
        return json_response({"volume_type": await _view(req, s, row)})


async def delete_type(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:type_delete", c.target(req))
    async with _db(req).session() as s:
        await _svc(req).delete(s, req.path_params["type_id"])
    return empty_response(202)


async def type_action(req: Request):
    c.url_project_check(req)
    body = await read_json(req)
    if not isinstance(body, dict) or len(body) != 1:
        raise exc.BadRequest("Invalid request body: name one action (addProjectAccess or removeProjectAccess).")
    (action, arg), = body.items()
    if action not in ("addProjectAccess", "removeProjectAccess"):
        raise exc.BadRequest(f"There is no such action: {action}")
    arg = c.validate(arg, ACCESS)
    req.ctx.can(f"{VE}:volume_type_access:{action}", c.target(req))
    async with _db(req).session() as s:
        if action == "addProjectAccess":
            await _svc(req).add_access(s, req.path_params["type_id"], arg["project"])
        else:
            await _svc(req).remove_access(s, req.path_params["type_id"], arg["project"])
    return empty_response(202)


async def list_type_access(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:volume_type_access:get_all_for_type", c.target(req))
    async with _db(req).reader() as s:
        row = await _svc(req).get(s, req.path_params["type_id"])
        if row.is_public:
            raise exc.NotFound("Access list not available for public volume types.")
        projects = await _svc(req).projects(s, row.id)
    return json_response({"volume_type_access": [{"volume_type_id": row.id, "project_id": p}
                                                 for p in sorted(projects)]})


# extra specs
async def list_extra_specs(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:types_extra_specs:index", c.target(req))
    admin = req.ctx.allowed(f"{VE}:types_manage", c.target(req))
    async with _db(req).reader() as s:
        row = await _svc(req).get(s, req.path_params["type_id"], project_id=req.ctx.project_id, see_all=admin)
        return json_response({"extra_specs": await _svc(req).specs(s, row.id)})


async def create_extra_specs(req: Request):
    c.url_project_check(req)
    body = c.validate(await read_json(req), {"type": "object", "required": ["extra_specs"],
                                             "properties": {"extra_specs": SPECS}})
    req.ctx.can(f"{VE}:types_extra_specs:create", c.target(req))
    async with _db(req).session() as s:
        await _svc(req).set_specs(s, req.path_params["type_id"], body["extra_specs"])
    return json_response({"extra_specs": body["extra_specs"]})


async def show_extra_spec(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:types_extra_specs:show", c.target(req))
    admin = req.ctx.allowed(f"{VE}:types_manage", c.target(req))
    key = req.path_params["key"]
    async with _db(req).reader() as s:
        row = await _svc(req).get(s, req.path_params["type_id"], project_id=req.ctx.project_id, see_all=admin)
        specs = await _svc(req).specs(s, row.id)
    if key not in specs:
        raise exc.NotFound(f"Volume Type {row.id} has no extra specs with key {key}.")
    return json_response({key: specs[key]})


async def update_extra_spec(req: Request):
    c.url_project_check(req)
    key = req.path_params["key"]
    body = c.validate(await read_json(req), {**SPECS, "minProperties": 1, "maxProperties": 1})
    if key not in body:
        raise exc.BadRequest("Request body and URI mismatch")
    req.ctx.can(f"{VE}:types_extra_specs:update", c.target(req))
    async with _db(req).session() as s:
        await _svc(req).set_specs(s, req.path_params["type_id"], body)
    return json_response(body)


async def delete_extra_spec(req: Request):
    c.url_project_check(req)
    req.ctx.can(f"{VE}:types_extra_specs:delete", c.target(req))
    async with _db(req).session() as s:
        await _svc(req).delete_spec(s, req.path_params["type_id"], req.path_params["key"])
    return empty_response(202)


# default types (3.62)
def _default_view(row: Any) -> dict[str, Any]:
    return {"project_id": row.project_id, "volume_type_id": row.volume_type_id}


async def set_default_type(req: Request):
    body = c.validate(await read_json(req), {"type": "object", "required": ["default_type"], "properties": {
        "default_type": {"type": "object", "required": ["volume_type"], "properties": {
            "volume_type": {"type": "string", "minLength": 1, "maxLength": 255}},
            "additionalProperties": False}}, "additionalProperties": False})
    req.ctx.can(f"{VE}:default_set_or_update", c.target(req, req.path_params["project_id"]))
    async with _db(req).session() as s:
        row = await _svc(req).set_default(s, req.path_params["project_id"], body["default_type"]["volume_type"])
        return json_response({"default_type": _default_view(row)})


async def show_default_type(req: Request):
    req.ctx.can(f"{VE}:default_get", c.target(req, req.path_params["project_id"]))
    async with _db(req).reader() as s:
        row = await _svc(req).get_default(s, req.path_params["project_id"])
        return json_response({"default_type": _default_view(row)})


async def list_default_types(req: Request):
    req.ctx.can(f"{VE}:default_get_all", c.target(req))
    async with _db(req).reader() as s:
        rows = await _svc(req).list_defaults(s)
    return json_response({"default_types": [_default_view(r) for r in rows]})


async def unset_default_type(req: Request):
    req.ctx.can(f"{VE}:default_unset", c.target(req, req.path_params["project_id"]))
    async with _db(req).session() as s:
        await _svc(req).unset_default(s, req.path_params["project_id"])
    return empty_response(204)
