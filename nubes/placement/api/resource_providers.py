"""Handlers for /resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response, read_json
from nubes.placement import policies
from nubes.placement.api import query, schemas, views
from nubes.placement.api.validation import validate
from nubes.placement.service import providers, search


async def list_resource_providers(req: Request):
    req.ctx.can(policies.RP_LIST)
    filters = query.provider_filters(req)
    pl = views.placement(req)
    await pl.index.ensure_fresh()
    ix = pl.index
    v = req.ctx.api_version
    out = []
    for p in search.providers(ix, filters):
        parent = ix.providers.get(p.parent) if p.parent is not None else None
        root = ix.providers.get(p.root)
        out.append(views.provider({"uuid": p.uuid, "name": p.name, "generation": p.generation,
                                   "parent_provider_uuid": parent.uuid if parent else None,
                                   "root_provider_uuid": root.uuid if root else p.uuid}, v))
    return views.respond(req, {"resource_providers": out})


async def create_resource_provider(req: Request):
    req.ctx.can(policies.RP_CREATE)
    v = req.ctx.api_version
    body = validate(await read_json(req), schemas.provider_post(v))
    rp = await providers.create(views.placement(req), body["name"], body.get("uuid"),
                                body.get("parent_provider_uuid"))
    headers = {"location": f"/resource_providers/{rp['uuid']}"}
    if v >= (1, 20):
        return views.respond(req, views.provider(rp, v), 200, headers)
    return empty_response(201, headers)


async def show_resource_provider(req: Request):
    req.ctx.can(policies.RP_SHOW)
    rp = await providers.show(views.placement(req), req.path_params["uuid"])
    return views.respond(req, views.provider(rp, req.ctx.api_version))


async def update_resource_provider(req: Request):
    req.ctx.can(policies.RP_UPDATE)
    v = req.ctx.api_version
    body = validate(await read_json(req), schemas.provider_put(v))
    rp = await providers.update(views.placement(req), req.path_params["uuid"], body["name"],
                                body.get("parent_provider_uuid", ...), allow_reparent=v >= (1, 37))
    return views.respond(req, views.provider(rp, v))


async def delete_resource_provider(req: Request):
    req.ctx.can(policies.RP_DELETE)
    await providers.delete(views.placement(req), req.path_params["uuid"])
    return empty_response(204)
