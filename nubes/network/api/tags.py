"""Handlers for /v2.0/<collection>/<id>/tags[/<tag>] on every taggable resource."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import validators as v
from nubes.network.exceptions import BadRequest


def authorizer(ctx: RequestContext):
    """Neutron's tag rules: ``get_<resource>:tags`` to read them, ``update_<resource>:tags`` to add
    one or replace them, ``delete_<resource>:tags`` to remove them, ``create_<resource>:tags`` for
    the tags given to a create."""
    def authorize(resource: str, action: str, target: dict[str, Any]) -> None:
        ctx.can(f"{action}_{resource}:tags", target)
    return authorize


def _args(req: Request) -> tuple:
    from nubes.network.exceptions import NotFound
    from nubes.network.service.tags import TAGGABLE

    collection = req.path_params["collection"]
    if collection not in TAGGABLE:
        raise NotFound(f"The resource could not be found: {req.url.path}.")
    return req.ctx, collection, req.path_params["resource_id"], authorizer(req.ctx)


def _svc(req: Request):
    return req.rt.extra["network"].tags


def _tag(req: Request) -> str:
    tag = req.path_params["tag"]
    try:
        return v.string(255)(tag)
    except ValueError as e:
        raise BadRequest(f"Invalid input for tag. Reason: {e}.") from None


async def list_tags(req: Request):
    return json_response({"tags": await _svc(req).list(*_args(req))})


async def check_tag(req: Request):
    await _svc(req).check(*_args(req), _tag(req))
    return empty_response(204)


async def replace_tags(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or "tags" not in body:
        raise BadRequest("Invalid input for tags. Reason: a body {\"tags\": [...]} is required.")
    try:
        tags = v.tags(body["tags"])
    except ValueError as e:
        raise BadRequest(f"Invalid input for tags. Reason: {e}.") from None
    return json_response({"tags": await _svc(req).replace(*_args(req), tags)})


async def add_tag(req: Request):
    await _svc(req).add(*_args(req), _tag(req))
    return empty_response(201)


async def delete_tag(req: Request):
    await _svc(req).remove(*_args(req), _tag(req))
    return empty_response(204)


async def delete_tags(req: Request):
    await _svc(req).remove_all(*_args(req))
    return empty_response(204)
