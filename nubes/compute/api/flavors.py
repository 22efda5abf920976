"""Handlers for /flavors, /flavors/detail and /flavors/{id}."""

from __future__ import annotations

import re
from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.jsondoc import INT64_MAX
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api import validation as v
from nubes.compute.db.models import Flavor
from nubes.compute.db.queries.flavors import SORT_KEYS
from nubes.compute.service.flavors import NewFlavor

P = "os_compute_api:os-flavor-manage"
# Nova takes a string or a number (``"id": 42``, kept as the string "42"); none means a new uuid.
FLAVOR_ID = {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
             "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"}


def _flavor_id(raw: Any) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    text = str(int(raw)) if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e255 else str(raw)
    if not re.fullmatch(FLAVOR_ID["pattern"], text) or len(text) > 255:
        raise exc.BadRequest(f"Invalid input for field/attribute id. Value: {raw}. The id of a flavor is "
                             "at most 255 letters, digits, '.', '_', '-' or spaces.")
    return text


def _create_schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": v.NAME, "id": FLAVOR_ID, "ram": v.positive_integer(1), "vcpus": v.positive_integer(1),
        "disk": v.positive_integer(0), "OS-FLV-EXT-DATA:ephemeral": v.positive_integer(0),
        "swap": v.positive_integer(0),
        "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "exclusiveMinimum": 0, "maximum": 3.40282e38},
        "os-flavor-access:is_public": v.BOOLEAN}
    if version >= (2, 55):
        props["description"] = v.DESCRIPTION
    return {"type": "object", "required": ["flavor"], "additionalProperties": False, "properties": {
        "flavor": {"type": "object", "required": ["name", "ram", "vcpus", "disk"],
                   "additionalProperties": False, "properties": props}}}


UPDATE_SCHEMA = {"type": "object", "required": ["flavor"], "additionalProperties": False, "properties": {
    "flavor": {"type": "object", "required": ["description"], "additionalProperties": False,
               "properties": {"description": v.DESCRIPTION}}}}


def brief(req: Request, row: Flavor) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.flavorid, "name": row.name,
                           "links": links.links(req, "flavors", row.flavorid)}
    if req.ctx.api_version >= (2, 55):
        out["description"] = row.description
    return out


def detail(req: Request, row: Flavor) -> dict[str, Any]:
    version = req.ctx.api_version
    out = brief(req, row)
    out.update({"ram": row.memory_mb, "disk": row.root_gb, "vcpus": row.vcpus,
                "swap": row.swap if (row.swap or version >= (2, 75)) else "",
                "OS-FLV-EXT-DATA:ephemeral": row.ephemeral_gb, "OS-FLV-DISABLED:disabled": row.disabled,
                "os-flavor-access:is_public": row.is_public, "rxtx_factor": row.rxtx_factor})
    if version >= (2, 61) and req.ctx.allowed("os_compute_api:os-flavor-extra-specs:index",
                                              {"project_id": req.ctx.project_id}):
        out["extra_specs"] = {e.key: e.value for e in row.extra_specs}
    return out


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].flavors


def _is_public_param(req: Request) -> bool | None:
    raw = req.query_params.get("is_public")
    if raw is None:
        return True
    if raw.lower() == "none":
        return None
    if raw.lower() in ("true", "t", "1", "yes", "y", "on"):
        return True
    if raw.lower() in ("false", "f", "0", "no", "n", "off"):
        return False
    raise exc.BadRequest(f"Invalid is_public filter [{raw}]")


def _int_param(req: Request, name: str) -> int | None:
    raw = req.query_params.get(name)
    if raw is None:
        return None
    try:
        n = int(raw)
    except ValueError:
        raise exc.BadRequest(f"Invalid {name} filter [{raw}]") from None
    if n < 0:
        raise exc.BadRequest(f"Invalid {name} filter [{raw}]")
    # A minimum past any flavor's size (Nova's columns are 4-byte) matches none, as in Nova; the
    # database cannot compare past 64 bits.
    return min(n, INT64_MAX)


async def _list(req: Request, view: Any):
    ctx = req.ctx
    sort_key = req.query_params.get("sort_key", "flavorid")
    sort_dir = req.query_params.get("sort_dir", "asc")
    if sort_key not in SORT_KEYS:
        raise exc.BadRequest(f"Invalid input for query parameters sort_key. Value: {sort_key}.")
    if sort_dir not in ("asc", "desc"):
        raise exc.BadRequest(f"Invalid input for query parameters sort_dir. Value: {sort_dir}.")
    limit = _int_param(req, "limit")
    max_limit = req.rt.service_conf.max_limit
    limit = min(limit, max_limit) if limit is not None else None
    rows = await _svc(req).list(
        # Nova filters only admins' lists by is_public; others always get the public flavors
        # and the private ones shared with their project.
        ctx, is_public=_is_public_param(req) if ctx.is_admin else None,
        min_ram=_int_param(req, "minRam"), min_disk=_int_param(req, "minDisk"),
        sort_key=sort_key, sort_dir=sort_dir, limit=limit, marker=req.query_params.get("marker"))
    body: dict[str, Any] = {"flavors": [view(req, r) for r in rows]}
    if limit and len(rows) == limit:
        body["flavors_links"] = links.next_link(req, "flavors", rows[-1].flavorid)
    return json_response(body)


async def list_flavors(req: Request):
    return await _list(req, brief)


async def list_flavors_detail(req: Request):
    return await _list(req, detail)


async def show_flavor(req: Request):
    row = await _svc(req).show(req.ctx, req.path_params["flavor_id"])
    return json_response({"flavor": detail(req, row)})


async def create_flavor(req: Request):
    req.ctx.can(f"{P}:create")
    body = v.validate(await read_json(req), _create_schema(req.ctx.api_version))["flavor"]
    name = body["name"]
    row = await _svc(req).create(NewFlavor(
        name=name, flavorid=_flavor_id(body.get("id")), memory_mb=int(body["ram"]), vcpus=int(body["vcpus"]),
        root_gb=int(body["disk"]), ephemeral_gb=int(body.get("OS-FLV-EXT-DATA:ephemeral", 0)),
        swap=int(body.get("swap", 0)), rxtx_factor=float(body.get("rxtx_factor", 1.0)),
        is_public=v.as_bool(body.get("os-flavor-access:is_public", True)),
        description=body.get("description")))
    return json_response({"flavor": detail(req, row)})


async def update_flavor(req: Request):
    req.ctx.can(f"{P}:update")
    body = v.validate(await read_json(req), UPDATE_SCHEMA)["flavor"]
    row = await _svc(req).update_description(req.path_params["flavor_id"], body["description"])
    return json_response({"flavor": detail(req, row)})


async def delete_flavor(req: Request):
    req.ctx.can(f"{P}:delete")
    await _svc(req).delete(req.path_params["flavor_id"])
    return empty_response(202)
