"""Handlers for /v2/images and /v2/images/{image_id}: list, create, show, update, delete, actions."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nubes.core.api.http import Request, empty_response, json_response, read_body_limited
from nubes.image.api import views
from nubes.image.api.body import read_json
from nubes.image.api.policy import ImagePolicy
from nubes.image.service import images, listing, patch


def _state(req: Request) -> Any:
    return req.rt.extra["image"]


def _view(req: Request, rec: Any) -> dict[str, Any]:
    return views.image(rec, _state(req).image_schema["properties"])


async def list_images(req: Request):
    params = list(req.query_params.multi_items())
    records, next_marker = await listing.list_images(_state(req), req.ctx, ImagePolicy(req.ctx), params)
    rest = [(k, v) for k, v in params if k != "marker"]
    body: dict[str, Any] = {"images": [_view(req, r) for r in records],
                            "first": "/v2/images" + (f"?{urlencode(rest)}" if rest else ""),
                            "schema": "/v2/schemas/images"}
    if next_marker:
        body["next"] = "/v2/images?" + urlencode([*rest, ("marker", next_marker)])
    return json_response(body)


async def create_image(req: Request):
    state = _state(req)
    rec = await images.create(state, req.ctx, ImagePolicy(req.ctx), await read_json(req))
    headers = {"location": f"{req.url.scheme}://{req.url.netloc}/v2/images/{rec.id}",
               "openstack-image-store-ids": ",".join(state.stores.by_id)}
    if state.conf.enabled_import_methods:
        headers["openstack-image-import-methods"] = ",".join(state.conf.enabled_import_methods)
    return json_response(_view(req, rec), 201, headers=headers)


async def show_image(req: Request):
    rec = await images.show(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"])
    return json_response(_view(req, rec))


async def update_image(req: Request):
    image_id = req.path_params["image_id"]
    ctype = req.headers.get("content-type")
    patch.patch_version(ctype)   # 415 before reading the body, with Accept-Patch
    body = await read_json(req)
    rec = await images.update(_state(req), req.ctx, ImagePolicy(req.ctx), image_id, ctype, body)
    return json_response(_view(req, rec))


async def delete_image(req: Request):
    await images.delete(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"])
    return empty_response(204)


async def _no_body(req: Request) -> None:
    await read_body_limited(req, req.rt.max_request_body)


async def deactivate_image(req: Request):
    await _no_body(req)
    await images.set_active(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                            active=False)
    return empty_response(204)


async def reactivate_image(req: Request):
    await _no_body(req)
    await images.set_active(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                            active=True)
    return empty_response(204)


async def delete_from_store(req: Request):
    await images.delete_from_store(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["store_id"],
                                   req.path_params["image_id"])
    return empty_response(204)


async def list_locations(req: Request):
    return json_response(await images.locations(_state(req), req.ctx, ImagePolicy(req.ctx),
                                                req.path_params["image_id"]))


async def add_location(req: Request):
    """POST /v2/images/{id}/locations (2.17): the caller is checked, then an honest 501."""
    from nubes.core.exceptions import NotImplementedYet
    from nubes.image import policies

    rec = await images.show(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"])
    ImagePolicy(req.ctx).image(policies.ADD_IMAGE_LOCATION, rec, False)
    raise NotImplementedYet("Adding a location to an image is not implemented by nubes: its stores "
                            "(filesystem, object storage) take data only by upload or import, and no store "
                            "reads external locations (http, rbd). See docs/api-coverage.md.")
