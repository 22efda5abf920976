"""Nova's image proxy API (microversions below 2.36; image metadata below 2.39): images read,
deleted and their properties changed through the image API with the caller's token, as Nova's
glance client does. A server snapshot (createImage) is one of these images, with the server's
``instance_uuid`` in its properties."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.service.snapshots import message_of

LOG = logging.getLogger(__name__)
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
# Glance's own attributes: everything else on an image is one of its properties (Nova's "metadata").
CORE = {"id", "name", "status", "visibility", "protected", "checksum", "owner", "size", "virtual_size",
        "container_format", "disk_format", "created_at", "updated_at", "deleted", "deleted_at", "tags",
        "min_ram", "min_disk", "file", "schema", "self", "direct_url", "locations", "os_hash_algo",
        "os_hash_value", "os_hidden", "stores", "is_public"}
# Nova's image list filters and the image API's names for them.
FILTERS = {"name": "name", "status": "status", "changes-since": "changes-since", "server": "instance_uuid",
           "type": "image_type", "minRam": "min_ram", "minDisk": "min_disk"}


def properties(image: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in image.items() if k not in CORE and not k.startswith("os_glance")}


def glance_query(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Nova's list filters (and ``property-<name>``, limit, marker) as image API query parameters."""
    out: list[tuple[str, str]] = []
    for key, value in params:
        if key in ("limit", "marker"):
            out.append((key, value))
        elif key == "changes-since":
            out.append(("updated_at", f"gte:{value}"))
        elif key == "status":
            out.append(("status", value.lower()))
        elif key in FILTERS:
            out.append((FILTERS[key], value))
        elif key.startswith("property-"):
            out.append((key.removeprefix("property-"), value))
    return out


class ImageProxy:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _image(self, ctx: RequestContext, method: str, path: str, **kw: Any) -> Any:
        return await self.state.rt.clients.request("image", method, path, token=ctx.auth_token, **kw)

    async def list(self, ctx: RequestContext, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        query = glance_query(params)
        r = await self._image(ctx, "GET", "/v2/images" + (f"?{urlencode(query)}" if query else ""))
        if r.status_code == 400:
            raise exc.BadRequest(message_of(r))
        if r.status_code != 200:
            raise exc.BadRequest(f"The image service refused the list ({r.status_code}): {message_of(r)}")
        return r.json().get("images", [])

    async def show(self, ctx: RequestContext, image_id: str) -> dict[str, Any]:
        r = await self._image(ctx, "GET", f"/v2/images/{image_id}")
        if r.status_code != 200:
            raise exc.NotFound("Image not found.")
        return r.json()

    async def delete(self, ctx: RequestContext, image_id: str) -> None:
        r = await self._image(ctx, "DELETE", f"/v2/images/{image_id}")
        if r.status_code == 404:
            raise exc.NotFound("Image not found.")
        if r.status_code == 403:
            raise exc.Forbidden("You are not allowed to delete the image.")
        if r.status_code == 409:
            raise exc.Conflict(message_of(r))
        if r.status_code != 204:
            raise exc.BadRequest(message_of(r))

    # -- metadata (the image's properties) ---------------------------------------------------------
    async def metadata(self, ctx: RequestContext, image_id: str) -> dict[str, Any]:
        return properties(await self.show(ctx, image_id))

    async def _check_quota(self, ctx: RequestContext, image: dict[str, Any], count: int) -> None:
        async with self.state.db.reader() as s:
            await self.state.quotas.check_metadata(s, image.get("owner") or ctx.project_id or "", count)

    async def _patch(self, ctx: RequestContext, image_id: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
        if not ops:
            return await self.show(ctx, image_id)
        r = await self._image(ctx, "PATCH", f"/v2/images/{image_id}", json=ops, headers=PATCH)
        if r.status_code == 200:
            return r.json()
        if r.status_code == 404:
            raise exc.NotFound("Image not found.")
        if r.status_code == 403:
            raise exc.Forbidden(f"The image service refused the change: {message_of(r)}")
        if r.status_code == 413:
            raise exc.OverQuota(message_of(r))
        raise exc.BadRequest(f"Invalid metadata: {message_of(r)}")

    async def update_metadata(self, ctx: RequestContext, image_id: str, items: dict[str, str], *,
                              replace: bool) -> dict[str, Any]:
        """Merge ``items`` into the image's properties (POST), or make them its properties (PUT)."""
        image = await self.show(ctx, image_id)
        have = properties(image)
        wanted = items if replace else {**have, **items}
        await self._check_quota(ctx, image, len(wanted))
        ops: list[dict[str, Any]] = [{"op": "remove", "path": f"/{k}"} for k in have if k not in wanted]
        ops += [{"op": "replace" if k in have else "add", "path": f"/{k}", "value": str(val)}
                for k, val in items.items() if have.get(k) != val]
        return properties(await self._patch(ctx, image_id, ops))

    async def delete_item(self, ctx: RequestContext, image_id: str, key: str) -> None:
        have = await self.metadata(ctx, image_id)
        if key not in have:
            raise exc.NotFound("Invalid metadata key")
        await self._patch(ctx, image_id, [{"op": "remove", "path": f"/{key}"}])
