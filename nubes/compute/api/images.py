"""Handlers of Nova's image proxy: /images, /images/detail, /images/{id} (below microversion 2.36)
and /images/{id}/metadata[/{key}] (below 2.39), in Nova's image view, proxied to the image
service (service/image_proxy.py). Nova has no policy rules of its own here: the image service
decides with the caller's token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api import validation as v
from nubes.compute.api.proxy_versions import until
from nubes.compute.api.server_schemas import METADATA
from nubes.compute.service.image_proxy import properties
from nubes.compute.service.snapshots import image_url

LAST = "2.35"
LAST_METADATA = "2.38"
STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "importing": "SAVING",
          "uploading": "SAVING", "deleted": "DELETED", "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].image_proxy


def _date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return value


async def _links(req: Request, image_id: str) -> list[dict[str, str]]:
    alternate = await image_url(req.rt.clients, image_id)
    return [*links.links(req, "images", image_id),
            {"rel": "alternate", "type": "application/vnd.openstack.image", "href": alternate}]


async def detail_view(req: Request, image: dict[str, Any]) -> dict[str, Any]:
    meta = properties(image)
    out: dict[str, Any] = {
        "id": image["id"], "name": image.get("name"), "minRam": int(image.get("min_ram") or 0),
        "minDisk": int(image.get("min_disk") or 0), "metadata": meta, "created": _date(image.get("created_at")),
        "updated": _date(image.get("updated_at")), "status": STATUS.get(image.get("status", ""), "UNKNOWN"),
        "progress": PROGRESS.get(image.get("status", ""), 0), "OS-EXT-IMG-SIZE:size": image.get("size"),
        "links": await _links(req, image["id"])}
    server = meta.get("instance_uuid")
    if server is not None:
        out["server"] = {"id": server, "links": links.links(req, "servers", server)}
    disk = meta.get("auto_disk_config")
    if disk is not None:
        out["OS-DCF:diskConfig"] = "AUTO" if v.as_bool(str(disk)) else "MANUAL"
    return out


async def _list(req: Request, detail: bool):
    params = list(req.query_params.multi_items())
    limit = req.query_params.get("limit")
    if limit is not None and not limit.isdigit():
        raise exc.BadRequest(f"Invalid input for query parameters limit. Value: {limit}. "
                             f"'{limit}' does not match '^[0-9]*$'")
    images = await _svc(req).list(req.ctx, params)
    if detail:
        out: dict[str, Any] = {"images": [await detail_view(req, i) for i in images]}
    else:
        out = {"images": [{"id": i["id"], "name": i.get("name"), "links": await _links(req, i["id"])}
                          for i in images]}
    if limit is not None and images and len(images) >= int(limit):
        out["images_links"] = links.next_link(req, "images/detail" if detail else "images", images[-1]["id"])
    return json_response(out)


@until(LAST)
async def list_images(req: Request):
    return await _list(req, False)


@until(LAST)
async def list_images_detail(req: Request):
    return await _list(req, True)


@until(LAST)
async def show_image(req: Request):
    image = await _svc(req).show(req.ctx, req.path_params["image_id"])
    return json_response({"image": await detail_view(req, image)})


@until(LAST)
async def delete_image(req: Request):
    await _svc(req).delete(req.ctx, req.path_params["image_id"])
    return empty_response(204)


# -- metadata -------------------------------------------------------------------------------------
ALL = {"type": "object", "required": ["metadata"], "additionalProperties": False,
       "properties": {"metadata": METADATA}}
ONE = {"type": "object", "required": ["meta"], "additionalProperties": False,
       "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}}}


def _iid(req: Request) -> str:
    return req.path_params["image_id"]


@until(LAST_METADATA)
async def list_image_metadata(req: Request):
    return json_response({"metadata": await _svc(req).metadata(req.ctx, _iid(req))})


@until(LAST_METADATA)
async def show_image_metadata_item(req: Request):
    key = req.path_params["key"]
    meta = await _svc(req).metadata(req.ctx, _iid(req))
    if key not in meta:
        raise exc.NotFound("The resource could not be found.")
    return json_response({"meta": {key: meta[key]}})


async def _set_all(req: Request, replace: bool):
    body = v.validate(await read_json(req), ALL)
    meta = await _svc(req).update_metadata(req.ctx, _iid(req), body["metadata"], replace=replace)
    return json_response({"metadata": meta})


@until(LAST_METADATA)
async def create_image_metadata(req: Request):
    return await _set_all(req, False)


@until(LAST_METADATA)
async def replace_image_metadata(req: Request):
    return await _set_all(req, True)


@until(LAST_METADATA)
async def update_image_metadata_item(req: Request):
    key = req.path_params["key"]
    body = v.validate(await read_json(req), ONE)
    if key not in body["meta"]:
        raise exc.BadRequest("Request body and URI mismatch")
    await _svc(req).update_metadata(req.ctx, _iid(req), {key: body["meta"][key]}, replace=False)
    return json_response({"meta": {key: body["meta"][key]}})


@until(LAST_METADATA)
async def delete_image_metadata_item(req: Request):
    await _svc(req).delete_item(req.ctx, _iid(req), req.path_params["key"])
    return empty_response(204)
