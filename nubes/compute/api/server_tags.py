"""Handlers for /servers/{id}/tags and /servers/{id}/tags/{tag} (2.26, Nova's server_tags)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.api.jsonschema import first_error
from nubes.compute import exceptions as exc
from nubes.compute.api import authz, links
from nubes.compute.api import validation as v
from nubes.compute.api.server_schemas import TAG, TAGS

REPLACE = {"type": "object", "required": ["tags"], "additionalProperties": False, "properties": {"tags": TAGS}}
T = f"{authz.P}:os-server-tags"


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].server_metadata


def _sid(req: Request) -> str:
    return req.path_params["server_id"]


async def list_tags(req: Request):
    await authz.server(req, f"{T}:index")
    return json_response({"tags": await _svc(req).tags(req.ctx, _sid(req))})


async def replace_tags(req: Request):
    body = v.validate(await read_json(req), REPLACE)
    await authz.server(req, f"{T}:update_all")
    return json_response({"tags": await _svc(req).set_tags(req.ctx, _sid(req), body["tags"])})


async def delete_tags(req: Request):
    await authz.server(req, f"{T}:delete_all")
    await _svc(req).delete_tag(req.ctx, _sid(req), None)
    return empty_response(204)


async def check_tag(req: Request):
    tag = req.path_params["tag"]
    await authz.server(req, f"{T}:show")
    if not await _svc(req).has_tag(req.ctx, _sid(req), tag):
        raise exc.NotFound(f"Server {_sid(req)} has no tag '{tag}'")
    return empty_response(204)


async def add_tag(req: Request):
    tag = req.path_params["tag"]
    err = first_error(tag, TAG)
    if err is not None:
        raise exc.BadRequest(f"Tag '{tag}' is invalid. It must be a non empty string without characters '/' "
                             f"and ','. Validation error message: {err.message}")
    await authz.server(req, f"{T}:update")
    if await _svc(req).add_tag(req.ctx, _sid(req), tag):
        return empty_response(201, headers={"Location": f"{links.base(req)}/v2.1/servers/{_sid(req)}/tags/{tag}"})
    return empty_response(204)


async def delete_tag(req: Request):
    await authz.server(req, f"{T}:delete")
    await _svc(req).delete_tag(req.ctx, _sid(req), req.path_params["tag"])
    return empty_response(204)
