"""The volume manager's work beyond blank creates and deletes: volumes made from a source (a
snapshot, a volume, an image), extend (also of attached volumes, then compute is told), revert
to a snapshot, and upload to an image. Each ends in one report cast to the worker
(``nubes.volume.rpc`` lists them); each is idempotent, so the reconcile after a restart may
run it again from the record's ``task`` (``cloning``, ``downloading``, ``extending``,
``reverting``, ``uploading``)."""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.exceptions import CloudError, ServiceUnavailable
from nubes.volume import rpc
from nubes.volume.agent.images import GiB, ImageError, volume_image_metadata
from nubes.volume.drivers.base import VolumeDriverError

LOG = logging.getLogger(__name__)


class ActionSteps:
    def __init__(self, manager: Any) -> None:
        self.m = manager

    @property
    def driver(self) -> Any:
        return self.m.driver

    def handlers(self) -> dict[str, Any]:
        return {"extend_volume": self.extend_volume, "revert_to_snapshot": self.revert_to_snapshot,
                "upload_to_image": self.upload_to_image}

    async def _report(self, method: str, payload: dict) -> None:
        await self.m.bus.cast(rpc.WORKER_TOPIC, method, {"host": self.m.host, **payload})

    # volumes from a source
    async def create_from_source(self, volume: dict, source: dict) -> tuple[dict | None, dict]:
        """The driver's create from ``source``; returns (model update, extra report fields)."""
        kind = source.get("kind")
        if kind == "snapshot":
            return await self.driver.create_volume_from_snapshot(volume, source["snapshot"]), {}
        if kind == "volume":
            return await self.driver.create_cloned_volume(volume, source["volume"]), {}
        if kind == "image":
            return await self._from_image(volume, source["image_id"])
        raise VolumeDriverError(f"unknown volume source {kind!r}")

    async def _from_image(self, volume: dict, image_id: str) -> tuple[dict | None, dict]:
        images = self.m.images
        image = await images.record(image_id)
        path = None
        try:
            path, fmt, virtual = await images.fetch(image, volume["id"])
            if virtual is not None and virtual > int(volume["size"]) * GiB:
                raise ImageError(f"Image virtual size is {-(-virtual // GiB)}GB and doesn't fit in a volume "
                                 f"of size {volume['size']}GB.")
            if int(image.get("min_disk") or 0) > int(volume["size"]):
                raise ImageError(f"Volume size {volume['size']}GB cannot be smaller than the image minDisk "
                                 f"size {image['min_disk']}GB.")
            update = await self.driver.create_volume(volume)
            await self.driver.copy_image_to_volume(volume, path, fmt)
        finally:
            await images.discard(path)
        return update, {"image_metadata": volume_image_metadata(image), "bootable": True}

    # extend
    async def extend_volume(self, payload: dict) -> None:
        volume, new_size = payload["volume"], int(payload["new_size"])
        try:
            await self.driver.extend_volume(volume, new_size)
        except VolumeDriverError as err:
            LOG.warning("volume %s: extend failed: %s", volume["id"], err.message)
            await self._report("volume_extend_failed", {"volume_id": volume["id"], "message": err.message})
            return
        # the record shows the new size before compute is told (compute reads it), as in Cinder
        report = {"host": self.m.host, "volume_id": volume["id"], "new_size": new_size}
        try:
            await self.m.bus.call(rpc.WORKER_TOPIC, "volume_extended", report, timeout=30.0)
        except CloudError as err:
            LOG.warning("volume %s: reporting the extend: %s; cast instead", volume["id"], err)
            await self._report("volume_extended", {"volume_id": volume["id"], "new_size": new_size})
        for server_id in payload.get("servers") or []:
            await self._tell_compute(server_id, volume["id"])

    async def _tell_compute(self, server_id: str, volume_id: str) -> None:
        """Nova's ``volume-extended`` event, so the guest sees the new size (as Cinder sends it)."""
        clients = self.m.clients
        if clients is None:
            return
        event = {"events": [{"name": "volume-extended", "server_uuid": server_id, "tag": volume_id}]}
        try:
            r = await clients.request("compute", "POST", "/os-server-external-events", json=event,
                                      headers={"OpenStack-API-Version": "compute 2.51"})
            if r.status_code not in (200, 207):
                LOG.warning("compute refused the volume-extended event of %s for %s: %s %s", volume_id,
                            server_id, r.status_code, r.text[:200])
        except ServiceUnavailable as e:
            LOG.warning("compute not told that volume %s grew: %s", volume_id, e.message)

    # revert
    async def revert_to_snapshot(self, payload: dict) -> None:
        volume, snapshot = payload["volume"], payload["snapshot"]
        try:
            await self.driver.revert_to_snapshot(volume, snapshot)
        except VolumeDriverError as err:
            LOG.warning("volume %s: revert to %s failed: %s", volume["id"], snapshot["id"], err.message)
            await self._report("volume_revert_failed", {"volume_id": volume["id"], "snapshot_id": snapshot["id"],
                                                        "message": err.message})
            return
        await self._report("volume_reverted", {"volume_id": volume["id"], "snapshot_id": snapshot["id"]})

    # upload to an image
    async def upload_to_image(self, payload: dict) -> None:
        volume, image_id = payload["volume"], payload["image_id"]
        images = self.m.images
        path = images.upload_path(volume["id"])
        try:
            await images.prepare_dir()
            await self.driver.copy_volume_to_image(volume, path, payload.get("disk_format") or "raw")
            await images.upload(image_id, path)
        except VolumeDriverError as err:
            LOG.warning("volume %s: upload to image %s failed: %s", volume["id"], image_id, err.message)
            await images.delete_image(image_id)
            await self._report("volume_upload_failed", {"volume_id": volume["id"], "image_id": image_id,
                                                        "message": err.message})
            return
        finally:
            await images.discard(path)
        await self._report("volume_uploaded", {"volume_id": volume["id"], "image_id": image_id})

    async def finish(self, record: dict) -> bool:
        """Finish the task a previous run left on ``record`` (the reconcile); False: not ours."""
        task, args = record.get("task"), record.get("task_args") or {}
        if task in ("cloning", "downloading"):
            await self.m.create_volume({"volume": record, "source": record.get("source") or {}})
        elif task == "extending":
            await self.extend_volume({"volume": record, "new_size": args.get("new_size", record["size"]),
                                      "servers": args.get("servers") or []})
        elif task == "reverting":
            await self.revert_to_snapshot({"volume": record, "snapshot": args.get("snapshot") or {}})
        elif task == "uploading":
            # the image may be half-written: it goes, and the volume is back as it was
            image_id = args.get("image_id")
            if image_id:
                await self.m.images.delete_image(image_id)
            await self._report("volume_upload_failed", {
                "volume_id": record["id"], "image_id": image_id,
                "message": "the volume manager restarted during the upload"})
        else:
            return False
        return True
