"""Handlers for /traits and /resource_providers/{uuid}/traits."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response, query_bool, read_json
from nubes.placement import exceptions as exc
from nubes.placement import policies, standard
from nubes.placement.api import schemas, views
from nubes.placement.api.validation import validate, validate_query
from nubes.placement.service import catalog, providers

LIST_QUERY = {"type": "object", "properties": {
    "name": {"type": "string", "pattern": "^(startswith|in):.+$"},
    "associated": {"type": "string", "enum": ["true", "false"]}}, "additionalProperties": False}

INVALID = ('The trait is invalid. A valid trait must be no longer than 255 characters, start with the '
           'prefix "CUSTOM_" and use following characters: "A"-"Z", "0"-"9" and "_"')


async def list_traits(req: Request):
    req.ctx.can(policies.TRAITS_LIST)
    params = dict(req.query_params)
    validate_query(params, LIST_QUERY)
    prefix = names = None
    name = params.get("name")
    if name and name.startswith("startswith:"):
        prefix = name[len("startswith:"):]
    elif name:
        names = [n.strip() for n in name[3:].split(",")]
    associated = query_bool(params.get("associated"), "associated")
    found = await catalog.traits(views.placement(req), prefix=prefix, names=names, associated=associated)
    return views.respond(req, {"traits": found})


async def show_trait(req: Request):
    req.ctx.can(policies.TRAITS_SHOW)
    name = req.path_params["name"]
    if not await catalog.trait_exists(views.placement(req), name):
        raise exc.NotFound(f"No such trait(s): {name}.")
    return empty_response(204)


async def put_trait(req: Request):
    req.ctx.can(policies.TRAITS_UPDATE)
    name = req.path_params["name"]
    if not standard.is_custom(name):
        raise exc.BadRequest(INVALID)
    created = await catalog.create_trait(views.placement(req), name)
    return empty_response(201 if created else 204, {"location": f"/traits/{name}"})


async def delete_trait(req: Request):
    req.ctx.can(policies.TRAITS_DELETE)
    await catalog.delete_trait(views.placement(req), req.path_params["name"])
    return empty_response(204)


async def list_provider_traits(req: Request):
    req.ctx.can(policies.RP_TRAIT_LIST)
    names, gen = await providers.traits(views.placement(req), req.path_params["uuid"])
    return views.respond(req, {"traits": names, "resource_provider_generation": gen})


async def update_provider_traits(req: Request):
    req.ctx.can(policies.RP_TRAIT_UPDATE)
    body = validate(await read_json(req), schemas.TRAITS_PUT)
    names, gen = await providers.set_traits(views.placement(req), req.path_params["uuid"],
                                            body["resource_provider_generation"], body["traits"])
    return views.respond(req, {"traits": names, "resource_provider_generation": gen})


async def delete_provider_traits(req: Request):
    req.ctx.can(policies.RP_TRAIT_DELETE)
    await providers.set_traits(views.placement(req), req.path_params["uuid"], None, [])
    return empty_response(204)
