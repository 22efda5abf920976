"""Handlers for /volumes/{volume_id}/metadata."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c
from nubes.volume.api.volumes import _owned, _svc

BODY = {"type": "object", "required": ["metadata"], "properties": {"metadata": c.METADATA}}
ITEM = {"type": "object", "required": ["meta"], "properties": {"meta": {**c.METADATA, "minProperties": 1,
                                                                         "maxProperties": 1}}}


async def list_metadata(req: Request):
    see = await _owned(req, "volume:get_volume_metadata")
    return json_response({"metadata": await _svc(req).metadata(req.path_params["volume_id"], see)})


async def create_metadata(req: Request):
    body = c.validate(await read_json(req), BODY)
    see = await _owned(req, "volume:create_volume_metadata")
    out = await _svc(req).set_metadata(req.path_params["volume_id"], see, body["metadata"], replace=False)
    return json_response({"metadata": out})


async def replace_metadata(req: Request):
    body = c.validate(await read_json(req), BODY)
    see = await _owned(req, "volume:update_volume_metadata")
    out = await _svc(req).set_metadata(req.path_params["volume_id"], see, body["metadata"], replace=True)
    return json_response({"metadata": out})


async def show_metadata_item(req: Request):
    see = await _owned(req, "volume:get_volume_metadata")
    meta = await _svc(req).metadata(req.path_params["volume_id"], see)
    key = req.path_params["key"]
    if key not in meta:
        raise exc.MetadataNotFound(f"Volume {req.path_params['volume_id']} has no metadata with key {key}.")
    return json_response({"meta": {key: meta[key]}})


async def update_metadata_item(req: Request):
    body = c.validate(await read_json(req), ITEM)
    key = req.path_params["key"]
    if key not in body["meta"]:
        raise exc.BadRequest("Request body and URI mismatch")
    see = await _owned(req, "volume:update_volume_metadata")
    await _svc(req).set_metadata(req.path_params["volume_id"], see, body["meta"], replace=False)
    return json_response({"meta": body["meta"]})


async def delete_metadata_item(req: Request):
    see = await _owned(req, "volume:delete_volume_metadata")
    await _svc(req).delete_metadata_item(req.path_params["volume_id"], see, req.path_params["key"])
    return empty_response(200)
