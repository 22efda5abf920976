"""Handlers for /resource_classes."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response, read_json
from nubes.placement import exceptions as exc
from nubes.placement import policies, standard
from nubes.placement.api import schemas, views
from nubes.placement.api.validation import validate
from nubes.placement.service import catalog


def _view(name: str) -> dict:
    return {"name": name, "links": [{"rel": "self", "href": f"/resource_classes/{name}"}]}


async def list_resource_classes(req: Request):
    req.ctx.can(policies.RC_LIST)
    names = await catalog.resource_classes(views.placement(req))
    return views.respond(req, {"resource_classes": [_view(n) for n in names]})


async def create_resource_class(req: Request):
    req.ctx.can(policies.RC_CREATE)
    body = validate(await read_json(req), schemas.RESOURCE_CLASS)
    await catalog.create_resource_class(views.placement(req), body["name"])
    return empty_response(201, {"location": f"/resource_classes/{body['name']}"})


async def show_resource_class(req: Request):
    req.ctx.can(policies.RC_SHOW)
    name = req.path_params["name"]
    if not await catalog.resource_class_exists(views.placement(req), name):
        raise exc.NotFound(f"No such resource class {name}.")
    return views.respond(req, _view(name))


async def update_resource_class(req: Request):
    req.ctx.can(policies.RC_UPDATE)
    name = req.path_params["name"]
    if req.ctx.api_version >= (1, 7):
        if not standard.is_custom(name):
            raise exc.BadRequest(f"JSON does not validate: {name!r} does not match '^CUSTOM_[A-Z0-9_]+$'")
        created = await catalog.create_resource_class(views.placement(req), name, exist_ok=True)
        return empty_response(201 if created else 204, {"location": f"/resource_classes/{name}"})
    body = validate(await read_json(req), schemas.RESOURCE_CLASS)
    await catalog.rename_resource_class(views.placement(req), name, body["name"])
    return views.respond(req, _view(body["name"]))


async def delete_resource_class(req: Request):
    req.ctx.can(policies.RC_DELETE)
    await catalog.delete_resource_class(views.placement(req), req.path_params["name"])
    return empty_response(204)
