"""Handlers for /volumes/{volume_id}/metadata."""

from __future__ import annotations

import hashlib
import json

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.exceptions import PreconditionFailed
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c
from nubes.volume.api.volumes import _owned, _svc

BODY = {"type": "object", "required": ["metadata"], "properties": {"metadata": c.METADATA}}
ITEM = {"type": "object", "required": ["meta"], "properties": {"meta": {**c.METADATA, "minProperties": 1,
                                                                         "maxProperties": 1}}}


def _etag(metadata: dict[str, str]) -> str:
    """The metadata's ETag (3.15), so a client's PUT with If-Match loses no one else's update."""
    return hashlib.md5(json.dumps(metadata, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


async def list_metadata(req: Request):
    see = await _owned(req, "volume:get_volume_metadata")
    metadata = await _svc(req).metadata(req.path_params["volume_id"], see)
    headers = {"ETag": f'"{_etag(metadata)}"'} if req.ctx.api_version >= (3, 15) else None
    return json_response({"metadata": metadata}, headers=headers)


async def create_metadata(req: Request):
    body = c.validate(await read_json(req), BODY)
    see = await _owned(req, "volume:create_volume_metadata")
    out = await _svc(req).set_metadata(req.path_params["volume_id"], see, body["metadata"], replace=False)
    return json_response({"metadata": out})


async def replace_metadata(req: Request):
    body = c.validate(await read_json(req), BODY)
    see = await _owned(req, "volume:update_volume_metadata")
    wanted = req.headers.get("if-match")
    if wanted and req.ctx.api_version >= (3, 15):
        current = _etag(await _svc(req).metadata(req.path_params["volume_id"], see))
        if current not in [t.strip().strip('"') for t in wanted.split(",")] and wanted.strip() != "*":
            raise PreconditionFailed("The volume's metadata changed since it was read (If-Match).")
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
