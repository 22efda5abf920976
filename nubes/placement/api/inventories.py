"""Handlers for /resource_providers/{uuid}/inventories[/{resource_class}]."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.placement import exceptions as exc
from nubes.placement import policies
from nubes.placement.api import schemas, views
from nubes.placement.api.validation import validate
from nubes.placement.service import inventories


def _all(invs: dict[str, Any], gen: int) -> dict[str, Any]:
    return {"inventories": invs, "resource_provider_generation": gen}


def _one(inv: dict[str, Any], gen: int) -> dict[str, Any]:
    return {"resource_provider_generation": gen, **inv}


async def list_inventories(req: Request):
    req.ctx.can(policies.INV_LIST)
    invs, gen = await inventories.get(views.placement(req), req.path_params["uuid"])
    return views.respond(req, _all(invs, gen))


async def replace_inventories(req: Request):
    req.ctx.can(policies.INV_UPDATE)
    body = validate(await read_json(req), schemas.INVENTORIES)
    invs, gen = await inventories.modify(
        views.placement(req), req.path_params["uuid"], body["resource_provider_generation"],
        lambda _current: body["inventories"], allow_reserved_eq_total=req.ctx.api_version >= (1, 26))
    return views.respond(req, _all(invs, gen))


async def delete_inventories(req: Request):
    req.ctx.can(policies.INV_DELETE)
    await inventories.modify(views.placement(req), req.path_params["uuid"], None, lambda _current: {})
    return empty_response(204)


async def create_inventory(req: Request):
    req.ctx.can(policies.INV_CREATE)
    body = validate(await read_json(req), schemas.INVENTORY_POST)
    uuid, rc = req.path_params["uuid"], body["resource_class"]
    fields = {k: v for k, v in body.items() if k not in ("resource_class", "resource_provider_generation")}

    def add(current: dict[str, Any]) -> dict[str, Any]:
        if rc in current:
            raise exc.Conflict(f"Update conflict: Inventory for {rc} on resource provider {uuid} "
                               "already exists.")
        return {**current, rc: fields}

    invs, gen = await inventories.modify(views.placement(req), uuid, body["resource_provider_generation"],
                                         add, allow_reserved_eq_total=req.ctx.api_version >= (1, 26))
    return views.respond(req, _one(invs[rc], gen), 201,
                         {"location": f"/resource_providers/{uuid}/inventories/{rc}"})


async def show_inventory(req: Request):
    req.ctx.can(policies.INV_SHOW)
    uuid, rc = req.path_params["uuid"], req.path_params["resource_class"]
    invs, gen = await inventories.get(views.placement(req), uuid)
    if rc not in invs:
        raise exc.NotFound(f"No inventory of class {rc} for {uuid}")
    return views.respond(req, _one(invs[rc], gen))


async def update_inventory(req: Request):
    req.ctx.can(policies.INV_UPDATE)
    body = validate(await read_json(req), schemas.INVENTORY_ONE)
    uuid, rc = req.path_params["uuid"], req.path_params["resource_class"]
    fields = {k: v for k, v in body.items() if k != "resource_provider_generation"}

    def put(current: dict[str, Any]) -> dict[str, Any]:
        if rc not in current:
            raise exc.BadRequest(f"No inventory record with resource class for resource provider {uuid}")
        return {**current, rc: fields}

    invs, gen = await inventories.modify(views.placement(req), uuid, body["resource_provider_generation"],
                                         put, allow_reserved_eq_total=req.ctx.api_version >= (1, 26))
    return views.respond(req, _one(invs[rc], gen))


async def delete_inventory(req: Request):
    req.ctx.can(policies.INV_DELETE)
    uuid, rc = req.path_params["uuid"], req.path_params["resource_class"]

    def drop(current: dict[str, Any]) -> dict[str, Any]:
        if rc not in current:
            raise exc.NotFound(f"No inventory of class {rc} found for delete")
        return {k: v for k, v in current.items() if k != rc}

    await inventories.modify(views.placement(req), uuid, None, drop)
    return empty_response(204)
