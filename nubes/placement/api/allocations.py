"""Handlers for allocations (per consumer, POST for moves, per provider), usages and the reshaper."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.placement import exceptions as exc
from nubes.placement import policies
from nubes.placement.api import schemas, views
from nubes.placement.api.validation import is_uuid, validate, validate_query
from nubes.placement.service import allocations
from nubes.placement.service.allocations import UNSET, ConsumerWrite, InventoryWrite


def _consumer_write(body: dict[str, Any], v: tuple[int, int]) -> ConsumerWrite:
    allocs = body["allocations"]
    if isinstance(allocs, list):   # before 1.12
        allocs = {a["resource_provider"]["uuid"]: {"resources": a["resources"]} for a in allocs}
    return ConsumerWrite(
        allocations={rp: dict(a["resources"]) for rp, a in allocs.items()},
        project_id=body.get("project_id"), user_id=body.get("user_id"),
        generation=body["consumer_generation"] if v >= (1, 28) else UNSET,
        consumer_type=body.get("consumer_type"))


def _consumer_uuid(req: Request) -> str:
    consumer = req.path_params["consumer_uuid"]
    if not is_uuid(consumer):
        raise exc.BadRequest(f"Malformed consumer_uuid: {consumer}")
    return consumer


async def show_allocations(req: Request):
    req.ctx.can(policies.ALLOC_LIST)
    data = await allocations.for_consumer(views.placement(req), _consumer_uuid(req))
    v = req.ctx.api_version
    out: dict[str, Any] = {"allocations": data["allocations"]}
    if "project_id" in data:
        if v >= (1, 12):
            out.update(project_id=data["project_id"], user_id=data["user_id"])
        if v >= (1, 28):
            out["consumer_generation"] = data["consumer_generation"]
        if v >= (1, 38):
            out["consumer_type"] = data["consumer_type"]
    return views.respond(req, out)


async def put_allocations(req: Request):
    req.ctx.can(policies.ALLOC_UPDATE)
    v = req.ctx.api_version
    consumer = _consumer_uuid(req)
    body = validate(await read_json(req), schemas.allocations_put(v))
    await allocations.write(views.placement(req), {consumer: _consumer_write(body, v)})
    return empty_response(204)


async def post_allocations(req: Request):
    req.ctx.can(policies.ALLOC_MANAGE)
    v = req.ctx.api_version
    body = validate(await read_json(req), schemas.allocations_post(v))
    writes = {c: _consumer_write(b, v) for c, b in body.items()}
    await allocations.write(views.placement(req), writes)
    return empty_response(204)


async def delete_allocations(req: Request):
    req.ctx.can(policies.ALLOC_DELETE)
    await allocations.delete(views.placement(req), _consumer_uuid(req))
    return empty_response(204)


async def list_provider_allocations(req: Request):
    req.ctx.can(policies.RP_ALLOC_LIST)
    allocs, gen = await allocations.for_provider(views.placement(req), req.path_params["uuid"])
    return views.respond(req, {"allocations": allocs, "resource_provider_generation": gen})


async def provider_usages(req: Request):
    req.ctx.can(policies.RP_USAGES)
    usages, gen = await allocations.provider_usages(views.placement(req), req.path_params["uuid"])
    return views.respond(req, {"usages": usages, "resource_provider_generation": gen})


def _usages_query(v: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"project_id": {"type": "string", "minLength": 1},
                             "user_id": {"type": "string", "minLength": 1}}
    if v >= (1, 38):
        props["consumer_type"] = {"type": "string", "pattern": "^([A-Z0-9_]+|all|unknown)$"}
    return {"type": "object", "properties": props, "required": ["project_id"], "additionalProperties": False}


async def total_usages(req: Request):
    v = req.ctx.api_version
    params = dict(req.query_params)
    validate_query(params, _usages_query(v))
    req.ctx.can(policies.TOTAL_USAGES, {"project_id": params["project_id"],
                                        "user_id": params.get("user_id")})
    usages = await allocations.project_usages(views.placement(req), params["project_id"],
                                              params.get("user_id"), params.get("consumer_type"),
                                              by_type=v >= (1, 38))
    return views.respond(req, {"usages": usages})


async def reshape(req: Request):
    req.ctx.can(policies.RESHAPE)
    v = req.ctx.api_version
    schema = schemas.reshaper(v)
    schema["properties"]["allocations"].pop("minProperties", None)
    body = validate(await read_json(req), schema)
    invs = {rp: InventoryWrite(b["resource_provider_generation"], b["inventories"])
            for rp, b in body["inventories"].items()}
    writes = {c: _consumer_write(b, v) for c, b in body["allocations"].items()}
    await allocations.write(views.placement(req), writes, reshape=invs)
    return empty_response(204)
