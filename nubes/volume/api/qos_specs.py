"""Handlers for /qos-specs: create, list, show, set and delete keys, delete (``force``), and the
associations with volume types (associate, disassociate, disassociate_all, associations)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

KEY = "^[a-zA-Z0-9-_:. /]{1,255}$"
SPECS = {"type": "object", "minProperties": 1, "patternProperties": {KEY: {"type": "string", "maxLength": 255}},
         "additionalProperties": False}
CREATE = {"type": "object", "required": ["qos_specs"], "properties": {"qos_specs": {
    **SPECS, "required": ["name"], "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255}}}},
    "additionalProperties": False}
UPDATE = {"type": "object", "required": ["qos_specs"], "properties": {"qos_specs": SPECS},
          "additionalProperties": False}
DELETE_KEYS = {"type": "object", "required": ["keys"], "properties": {"keys": {
    "type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1, "maxLength": 255}}},
    "additionalProperties": False}
SORT_KEYS = {"id": "id", "name": "name", "consumer": "consumer", "created_at": "created_at"}
RULE = "volume_extension:qos_specs_manage"


def _svc(req: Request) -> Any:
    return req.rt.extra["volume"].qos_specs


def view(req: Request, r: Any) -> dict[str, Any]:
    return {"id": r.id, "name": r.name, "consumer": r.consumer, "specs": dict(r.specs or {})}


def _can(req: Request, action: str) -> None:
    c.url_project_check(req)
    req.ctx.can(f"{RULE}:{action}", c.target(req))


async def create_qos_specs(req: Request):
    body = c.validate(await read_json(req), CREATE)["qos_specs"]
    _can(req, "create")
    specs = dict(body)
    name = specs.pop("name")
    consumer = specs.pop("consumer", "back-end")
    row = await _svc(req).create(name, consumer, specs)
    return json_response({"qos_specs": view(req, row), "links": c.links(req, "qos-specs", row.id)})


async def list_qos_specs(req: Request):
    _can(req, "get_all")
    q = req.query_params
    key, direction = q.get("sort_key", "created_at"), q.get("sort_dir", "desc").lower()
    if q.get("sort"):
        key, _, d = q["sort"].split(",")[0].partition(":")
        direction = (d or "desc").lower()
    if key not in SORT_KEYS or direction not in ("asc", "desc"):
        raise exc.InvalidInput(f"Invalid sort {key}:{direction}.")
    limit, marker = c.limit_marker(req, req.rt.service_conf.osapi_max_limit)
    rows = await _svc(req).list(sort=[(SORT_KEYS[key], direction)], limit=limit, marker=marker)
    body: dict[str, Any] = {"qos_specs": [view(req, r) for r in rows]}
    if limit and len(rows) == limit:
        body["qos_specs_links"] = c.next_link(req, "qos-specs", rows[-1].id)
    return json_response(body)


async def show_qos_specs(req: Request):
    _can(req, "get")
    row = await _svc(req).show(req.path_params["qos_id"])
    return json_response({"qos_specs": view(req, row), "links": c.links(req, "qos-specs", row.id)})


async def update_qos_specs(req: Request):
    body = c.validate(await read_json(req), UPDATE)["qos_specs"]
    _can(req, "update")
    await _svc(req).set_keys(req.path_params["qos_id"], body)
    return json_response({"qos_specs": body})


async def delete_qos_keys(req: Request):
    body = c.validate(await read_json(req), DELETE_KEYS)
    _can(req, "update")
    await _svc(req).delete_keys(req.path_params["qos_id"], body["keys"])
    return empty_response(202)


async def delete_qos_specs(req: Request):
    _can(req, "delete")
    force = c.query_bool(req, "force") or False
    await _svc(req).delete(req.path_params["qos_id"], force=force)
    return empty_response(202)


async def list_associations(req: Request):
    _can(req, "get")
    types = await _svc(req).associations(req.path_params["qos_id"])
    return json_response({"qos_associations": [{"association_type": "volume_type", "name": t.name, "id": t.id}
                                               for t in types]})


async def associate(req: Request):
    _can(req, "update")
    await _svc(req).associate(req.path_params["qos_id"], req.query_params.get("vol_type_id"))
    return empty_response(202)


async def disassociate(req: Request):
    _can(req, "update")
    await _svc(req).disassociate(req.path_params["qos_id"], req.query_params.get("vol_type_id"))
    return empty_response(202)


async def disassociate_all(req: Request):
    _can(req, "update")
    await _svc(req).disassociate_all(req.path_params["qos_id"])
    return empty_response(202)
