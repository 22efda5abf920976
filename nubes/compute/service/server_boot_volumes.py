"""Boot from volume at the API: the block devices of a create-server request that are volumes
(block_device_mapping_v2 with destination_type volume) checked against block storage as the
caller, with Nova's 400s, and, once the server's rows are written, made ready as the caller: an
existing volume reserved for the server (an attachment without a connector, as Nova's API does),
a volume from an image, from a snapshot or blank created in the caller's project.

Nova creates the new volumes on the compute host with the user's token it carries over RPC; the
conductor here holds no user token (block storage makes a volume in the token's project only),
so the API creates them and the conductor (``conductor.build_volumes``) waits for them, attaches
them to the host it chose and completes the attachments once the guest runs."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.core.exceptions import ServiceUnavailable
from nubes.compute import exceptions as exc
from nubes.compute.db.models import BlockDeviceMapping
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import instances as qi
from nubes.compute.service.server_volumes import volume_error_message, volume_request

LOG = logging.getLogger(__name__)
GIB = 1024 ** 3
BDM_INVALID = "Block Device Mapping is Invalid: "
NO_VOLUMES = (BDM_INVALID + "volumes need the block storage service, and volume support is not available in "
              "this cloud: boot from an image onto a local disk instead.")
NOT_SUMMARISED = {"image_id", "image_name", "checksum", "size", "min_ram", "min_disk", "disk_format",
                  "container_format"}
CORE_IMAGE_FIELDS = {"id", "name", "status", "visibility", "protected", "checksum", "os_hash_algo", "os_hash_value",
                     "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format", "container_format",
                     "created_at", "updated_at", "tags", "self", "file", "schema", "locations", "direct_url", "stores",
                     "os_hidden"}


def is_volume(bd: Any) -> bool:
    return bd.destination_type == "volume" or bd.source_type in ("volume", "snapshot")


def check_shape(bd: Any) -> None:
    """Nova's checks of one volume mapping that need no other service (InvalidBDMFormat)."""
    if bd.destination_type != "volume":
        raise exc.BadRequest(BDM_INVALID + f"source_type {bd.source_type} needs destination_type volume.")
    if bd.source_type in ("volume", "snapshot", "image") and not bd.uuid:
        raise exc.BadRequest(BDM_INVALID + "Missing device UUID.")
    if bd.source_type == "image" and not bd.volume_size:
        raise exc.BadRequest(BDM_INVALID + "Images with destination_type 'volume' need to have a non-zero "
                             "size specified")
    if bd.source_type == "blank":
        if not bd.volume_size:
            raise exc.BadRequest(BDM_INVALID + "Blank volumes (source: 'blank', dest: 'volume') need to have "
                                 "non-zero size")
        if bd.boot_index == 0:
            raise exc.BadRequest(BDM_INVALID + "a blank volume has nothing to boot: it cannot have boot_index 0.")
    if bd.source_type == "volume" and bd.volume_type:
        raise exc.BadRequest("Specifying volume type to existing volume is not supported.")


def name_devices(volumes: list[Any], used: set[str]) -> None:
    """Device names for the volumes: the root one /dev/vda, the others the next free /dev/vdX."""
    for bd in volumes:
        if bd.device_name and not bd.device_name.startswith("/dev/"):
            bd.device_name = "/dev/" + bd.device_name
        if bd.device_name:
            if bd.device_name in used:
                raise exc.BadRequest(f"The supplied device path ({bd.device_name}) is in use.")
            used.add(bd.device_name)
    for bd in volumes:
        if bd.device_name:
            continue
        if bd.boot_index == 0 and "/dev/vda" not in used:
            bd.device_name = "/dev/vda"
        else:
            bd.device_name = next(f"/dev/vd{chr(c)}" for c in range(ord("b"), ord("z") + 1)
                                  if f"/dev/vd{chr(c)}" not in used)
        used.add(bd.device_name)


async def _get(clients: Any, ctx: RequestContext, path: str) -> Any:
    return await volume_request(clients, "GET", path, project=ctx.project_id, token=ctx.auth_token,
                                request_id=ctx.request_id)


async def check(clients: Any, ctx: RequestContext, volumes: list[Any], fl: dict[str, Any], *,
                count: int) -> dict[str, Any] | None:
    """Each volume mapping against block storage and the image service, as the caller. Answers the
    root volume's image (an image summary: from the image of an image mapping, or the volume image
    metadata of a volume or a snapshot), or None when the root is not a volume."""
    if not volumes:
        return None
    try:
        await clients.endpoint("volumev3")
    except ServiceUnavailable:
        raise exc.BadRequest(NO_VOLUMES) from None
    if count > 1 and any(bd.source_type == "volume" for bd in volumes):
        raise exc.BadRequest("Cannot attach one or more volumes to multiple instances")
    root_image: dict[str, Any] | None = None
    for bd in volumes:
        meta: dict[str, Any] = {}
        if bd.source_type == "volume":
            vol = await _volume(clients, ctx, bd)
            meta, size = vol.get("volume_image_metadata") or {}, int(vol.get("size") or 0)
            if bd.boot_index == 0 and str(vol.get("bootable")).lower() != "true":
                raise exc.BadRequest(f"Block Device {bd.uuid} is not bootable.")
        elif bd.source_type == "snapshot":
            snap = await _snapshot(clients, ctx, bd)
            size = bd.volume_size = bd.volume_size or int(snap.get("size") or 0)
            if size < int(snap.get("size") or 0):
                raise exc.BadRequest(BDM_INVALID + f"volume_size {size} is smaller than snapshot {bd.uuid} "
                                     f"({snap.get('size')} GiB).")
            if bd.boot_index == 0:
                meta = await _volume_meta(clients, ctx, snap.get("volume_id"))
        elif bd.source_type == "image":
            img = await _image(clients, ctx, bd.uuid)
            size = bd.volume_size
            meta = {"image_id": img["id"], "image_name": img.get("name"), "min_ram": img.get("min_ram"),
                    "min_disk": img.get("min_disk"), "size": img.get("size"),
                    "disk_format": img.get("disk_format"), "container_format": img.get("container_format"),
                    **{k: v for k, v in img.items() if k not in CORE_IMAGE_FIELDS}}
        else:
            continue
        min_disk = max(int(meta.get("min_disk") or 0) * GIB, int(meta.get("size") or 0))
        if (bd.boot_index == 0 or bd.source_type == "image") and min_disk > size * GIB:
            raise exc.BadRequest(f"Volume is smaller than the minimum size specified in image metadata. "
                                 f"Volume size is {size * GIB} bytes, minimum size is {min_disk} bytes.")
        if bd.boot_index == 0:
            if fl["memory_mb"] < int(meta.get("min_ram") or 0):
                raise exc.BadRequest("Flavor's memory is too small for requested image.")
            root_image = summary(meta)
    return root_image


def summary(meta: dict[str, Any]) -> dict[str, Any]:
    """An image summary (``server_inputs.image_summary``'s shape) from volume image metadata."""
    props = {k: v for k, v in meta.items() if k not in NOT_SUMMARISED}
    return {"id": meta.get("image_id") or "", "name": meta.get("image_name"), "size": _int(meta.get("size")),
            "min_ram": _int(meta.get("min_ram")), "min_disk": _int(meta.get("min_disk")),
            "disk_format": meta.get("disk_format"), "container_format": meta.get("container_format"),
            "properties": props}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


async def _volume(clients: Any, ctx: RequestContext, bd: Any) -> dict[str, Any]:
    r = await _get(clients, ctx, f"/volumes/{bd.uuid}")
    if r.status_code != 200:
        raise exc.BadRequest(BDM_INVALID + f"failed to get volume {bd.uuid}.")
    vol = r.json()["volume"]
    if vol.get("multiattach"):
        raise exc.BadRequest(f"Volume {bd.uuid} has 'multiattach' set, which is not supported for this "
                             "instance.")
    if vol.get("status") != "available":
        raise exc.BadRequest(f"Invalid volume: volume '{bd.uuid}' status must be 'available'. Currently in "
                             f"'{vol.get('status')}'")
    return vol


async def _snapshot(clients: Any, ctx: RequestContext, bd: Any) -> dict[str, Any]:
    r = await _get(clients, ctx, f"/snapshots/{bd.uuid}")
    if r.status_code != 200:
        raise exc.BadRequest(BDM_INVALID + f"failed to get snapshot {bd.uuid}.")
    snap = r.json()["snapshot"]
    if snap.get("status") != "available":
        raise exc.BadRequest(f"Invalid snapshot: snapshot {bd.uuid} status must be 'available'. Currently in "
                             f"'{snap.get('status')}'")
    return snap


async def _volume_meta(clients: Any, ctx: RequestContext, volume_id: str | None) -> dict[str, Any]:
    if not volume_id:
        return {}
    r = await _get(clients, ctx, f"/volumes/{volume_id}")
    return (r.json()["volume"].get("volume_image_metadata") or {}) if r.status_code == 200 else {}


async def _image(clients: Any, ctx: RequestContext, image_id: str) -> dict[str, Any]:
    r = await clients.request("image", "GET", f"/v2/images/{image_id}", token=ctx.auth_token)
    if r.status_code != 200:
        raise exc.BadRequest(BDM_INVALID + f"failed to get image {image_id}.")
    img = r.json()
    if img.get("status") != "active":
        raise exc.BadRequest(f"Image {image_id} is not active.")
    return img


# -- after the rows are written --------------------------------------------------------------------
async def prepare(st: Any, ctx: RequestContext, instance_id: str, volume_types: dict[str, str | None]) -> bool:
    """Reserve or create the instance's volumes as the caller and note them in its BDM rows. A
    failure (block storage refused: its quota, a volume taken meanwhile) puts the server in ERROR
    with a fault that says why, and answers False: it is not built. What was made stays noted, so
    the server's delete releases it (and deletes what has delete_on_termination)."""
    async with st.db.reader() as s:
        rows = list((await s.execute(select(BlockDeviceMapping).where(
            BlockDeviceMapping.instance_id == instance_id, BlockDeviceMapping.destination_type == "volume")
            .order_by(BlockDeviceMapping.id))).scalars())
    for b in rows:
        try:
            done = await _make(st.rt.clients, ctx, instance_id, b, volume_types.get(b.device_name or ""))
        except ServiceUnavailable as e:
            done = {"error": e.message}
        async with st.db.session() as s:
            row = await s.get(BlockDeviceMapping, b.id)
            if row is not None:
                row.volume_id = done.get("volume_id", row.volume_id)
                row.attachment_id = done.get("attachment_id", row.attachment_id)
        if "error" in done:
            await _fail(st, instance_id, done["error"])
            return False
    return True


async def _make(clients: Any, ctx: RequestContext, instance_id: str, b: Any, volume_type: str | None
                ) -> dict[str, Any]:
    kw = {"project": ctx.project_id, "token": ctx.auth_token, "request_id": ctx.request_id}
    if b.source_type == "volume":
        r = await volume_request(clients, "POST", "/attachments", json={"attachment": {
            "volume_uuid": b.volume_id, "instance_uuid": instance_id}}, **kw)
        if r.status_code != 200:
            return {"error": f"Invalid volume: {volume_error_message(r)}"}
        return {"attachment_id": r.json()["attachment"]["id"]}
    body: dict[str, Any] = {"size": b.volume_size, "name": f"{instance_id}-blank-vol" if b.source_type == "blank"
                            else "", "description": ""}
    if b.source_type == "image":
        body["imageRef"] = b.image_id
    elif b.source_type == "snapshot":
        body["snapshot_id"] = b.snapshot_id
    if volume_type:
        body["volume_type"] = volume_type
    r = await volume_request(clients, "POST", "/volumes", json={"volume": body}, **kw)
    if r.status_code not in (200, 202):
        return {"error": f"Volume for block device {b.device_name} could not be created: {volume_error_message(r)}"}
    return {"volume_id": r.json()["volume"]["id"]}


async def _fail(st: Any, instance_id: str, reason: str) -> None:
    message = f"Build of instance {instance_id} aborted: {reason}"
    LOG.info("%s", message)
    async with st.db.session() as s:
        row = await qi.get(s, instance_id, for_update=True)
        if row is None:
            return
        row.vm_state, row.task_state, row.updated_at = "error", None, utcnow()
        qi.add_fault(s, instance_id, 500, message, reason, None)
        action = await qa.latest(s, instance_id, "create")
        if action is not None:
            action.message = "Error"
