"""os-volume_upload_image (``openstack image create --volume``): the image record is made through
the image service's API as the caller (so it is the caller's, with the caller's visibility
rights), then the volume's manager copies the volume into it (status ``uploading`` until then).

An in-use volume is uploaded only with ``force`` and only when ``[volume] enable_force_upload``
is on, as Cinder (where force is otherwise ignored)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.core.exceptions import ServiceUnavailable
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c
from nubes.volume.service.volume_actions import UPLOAD_FORMATS

UPLOAD = {"type": "object", "required": ["image_name"], "properties": {
    "image_name": {"type": "string", "minLength": 1, "maxLength": 255}, "force": c.BOOLEAN,
    "disk_format": {"type": "string", "enum": list(UPLOAD_FORMATS)},
    "container_format": {"type": "string", "enum": ["bare"]},
    "visibility": {"type": "string", "enum": ["public", "private", "shared", "community"]},
    "protected": c.BOOLEAN}, "additionalProperties": False}
# image metadata that is the image's own, not a property to carry into the new image
NOT_CARRIED = {"image_id", "image_name", "checksum", "container_format", "disk_format", "min_disk", "min_ram",
               "size", "name", "id", "status", "visibility", "protected", "owner", "os_hash_algo",
               "os_hash_value", "virtual_size", "os_hidden"}


async def upload_image(req: Request, arg: Any):
    from nubes.volume.api.volumes import _owned

    body = c.validate(arg, UPLOAD)
    see = await _owned(req, "volume_extension:volume_actions:upload_image")
    state = req.rt.extra["volume"]
    vid = req.path_params["volume_id"]
    ver = req.ctx.api_version
    if ver < (3, 1) and ("visibility" in body or "protected" in body):
        raise exc.BadRequest("Invalid input: visibility and protected need microversion 3.1.")
    visibility = body.get("visibility", "private")
    protected = c.as_bool(body.get("protected", False))
    if visibility == "public":
        owner = await state.volumes.owner(vid)
        req.ctx.can("volume_extension:volume_actions:upload_public", owner)
    force = c.as_bool(body.get("force", False)) and state.conf.enable_force_upload
    row, glance, type_name = await state.actions.begin_upload(vid, see, force=force)
    disk_format = body.get("disk_format", "raw")
    container_format = body.get("container_format", "bare")
    image_body: dict[str, Any] = {"name": body["image_name"], "disk_format": disk_format,
                                  "container_format": container_format, "visibility": visibility,
                                  "protected": protected}
    for key, value in glance.items():
        if key not in NOT_CARRIED and key not in image_body:
            image_body[key] = value
    image = await _create_image(req, image_body)
    try:
        row = await state.actions.start_upload(vid, image["id"], disk_format, force=force)
    except BaseException:
        await _delete_image(req, image["id"])
        raise
    out = {"id": row.id, "updated_at": c.isotime(row.updated_at), "status": "uploading",
           "display_description": row.description, "size": row.size,
           "volume_type": {"name": type_name, "id": row.volume_type_id} if type_name else None,
           "image_id": image["id"], "container_format": container_format, "disk_format": disk_format,
           "image_name": body["image_name"]}
    if ver >= (3, 1):
        out["visibility"], out["protected"] = visibility, protected
    return json_response({"os-volume_upload_image": out}, status=202)


async def _create_image(req: Request, body: dict[str, Any]) -> dict[str, Any]:
    clients = req.rt.clients
    if clients is None:
        raise ServiceUnavailable("No image service in the catalog.")
    r = await clients.request("image", "POST", "/v2/images", token=req.ctx.auth_token, json=body)
    if r.status_code == 403:
        raise exc.Forbidden(f"The image service refused to make the image: {r.text[:300]}")
    if r.status_code == 413:
        raise exc.OverQuota(f"ImageLimitExceeded: {r.text[:300]}")
    if r.status_code != 201:
        raise exc.BadRequest(f"The image service refused to make the image ({r.status_code}): {r.text[:300]}")
    return r.json()


async def _delete_image(req: Request, image_id: str) -> None:
    try:
        await req.rt.clients.request("image", "DELETE", f"/v2/images/{image_id}", token=req.ctx.auth_token)
    except ServiceUnavailable:
        pass


HANDLERS = {"os-volume_upload_image": upload_image}
