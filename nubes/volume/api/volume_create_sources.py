"""The sources a volume create may name (``snapshot_id``, ``source_volid``, ``imageRef``/``image_id``,
``backup_id`` from 3.47):
read from the request, and the image's record fetched from the image service as the caller sees it
(with the caller's token, so an image the caller may not use is not found)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request
from nubes.volume import exceptions as exc
from nubes.volume.api import common as c

NOT_YET = ("consistencygroup_id", "group_id")


async def image_record(req: Request, ref: str) -> dict[str, Any]:
    clients = req.rt.clients
    if clients is None or not ref or len(ref) > 255:
        raise exc.BadRequest("Invalid image identifier or unable to access requested image.")
    r = await clients.request("image", "GET", f"/v2/images/{ref}", token=req.ctx.auth_token)
    if r.status_code != 200:
        raise exc.BadRequest("Invalid image identifier or unable to access requested image.")
    return r.json()


async def sources(req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The CreateRequest fields of the source ``body`` names (at most one, as Cinder requires)."""
    for key in NOT_YET:
        if body.get(key):
            raise exc.NotImplementedYet(f"Creating a volume with {key} is not implemented by this cloud yet "
                                        "(see docs/api-coverage.md).")
    if body.get("backup_id") and req.ctx.api_version < (3, 47):
        # Cinder's schema lets unknown fields through before 3.53 and ignores this one before 3.47,
        # making a blank volume; nubes refuses it, as every field it does not know.
        raise exc.BadRequest("Creating a volume from a backup (backup_id) needs microversion 3.47 or later.")
    image_ref = body.get("imageRef") or body.get("image_id")
    named = [k for k, v in (("snapshot_id", body.get("snapshot_id")), ("source_volid", body.get("source_volid")),
                            ("imageRef", image_ref), ("backup_id", body.get("backup_id"))) if v]
    if len(named) > 1:
        raise exc.BadRequest("Multiple volume sources were given; a volume is made from at most one of "
                             "snapshot_id, source_volid, imageRef and backup_id.")
    if body.get("size") is None and not (body.get("snapshot_id") or body.get("source_volid")
                                         or body.get("backup_id")):
        raise exc.BadRequest("Invalid input for field/attribute size. Value: None. None is not of type "
                             "'integer', 'string'")
    out: dict[str, Any] = {"snapshot_id": body.get("snapshot_id") or None,
                           "source_volid": body.get("source_volid") or None,
                           "backup_id": body.get("backup_id") or None}
    if image_ref:
        req.ctx.can("volume:create_from_image", c.target(req))
        out["image"] = await image_record(req, str(image_ref))
    return out
