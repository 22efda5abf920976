"""Handlers for /servers/{id}/metadata and /servers/{id}/metadata/{key} (Nova's server_metadata)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.api.server_schemas import METADATA

ALL = {"type": "object", "required": ["metadata"], "additionalProperties": False,
       "properties": {"metadata": METADATA}}
ONE = {"type": "object", "required": ["meta"], "additionalProperties": False,
       "properties": {"meta": {**METADATA, "minProperties": 1}}}
MD = f"{authz.P}:server-metadata"


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].server_metadata


def _sid(req: Request) -> str:
    return req.path_params["server_id"]


async def list_metadata(req: Request):
    await authz.server(req, f"{MD}:index")
    return json_response({"metadata": await _svc(req).show(req.ctx, _sid(req))})


async def create_metadata(req: Request):
    body = v.validate(await read_json(req), ALL)
    await authz.server(req, f"{MD}:create")
    items = await _svc(req).change(req.ctx, _sid(req), body["metadata"], rule="create", replace=False)
    return json_response({"metadata": items})


async def replace_metadata(req: Request):
    body = v.validate(await read_json(req), ALL)
    await authz.server(req, f"{MD}:update_all")
    items = await _svc(req).change(req.ctx, _sid(req), body["metadata"], rule="update_all", replace=True)
    return json_response({"metadata": items})


async def show_metadata_item(req: Request):
    await authz.server(req, f"{MD}:show")
    return json_response({"meta": await _svc(req).show(req.ctx, _sid(req), req.path_params["key"])})


async def update_metadata_item(req: Request):
    body = v.validate(await read_json(req), ONE)
    key = req.path_params["key"]
    if len(body["meta"]) > 1:
        raise exc.BadRequest("Request body contains too many items")
    if key not in body["meta"]:
        raise exc.BadRequest("Request body and URI mismatch")
    await authz.server(req, f"{MD}:update")
    items = await _svc(req).change(req.ctx, _sid(req), body["meta"], rule="update", replace=False)
    return json_response({"meta": items})


async def delete_metadata_item(req: Request):
    await authz.server(req, f"{MD}:delete")
    await _svc(req).delete(req.ctx, _sid(req), req.path_params["key"])
    return empty_response(204)
