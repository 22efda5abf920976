"""Agent steps that make or use images: createImage (snapshot), shelve, shelve offload, unshelve.

A snapshot goes ``image_snapshot`` → ``image_pending_upload`` → ``image_uploading``: the driver's
``Snapshot`` is streamed to the image record the API made (its disk and container formats set
first), with the service token; a failure removes the record. Shelving powers the guest off and
uploads it the same way, then tells the conductor (``shelve_report``), which makes the server
SHELVED and, when offloading, removes its allocation and host once the guest is gone and its
ports are unbound. Unshelving binds the ports here again, spawns from the shelved image and
removes that image.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nubes.core.exceptions import CloudError, ServiceUnavailable
from nubes.compute.agent import actions_ports as ports
from nubes.compute.agent.actions import Actions, Job, lost_to_delete
from nubes.compute.drivers.base import DriverError, InstanceNotFoundInDriver

LOG = logging.getLogger(__name__)
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
SNAPSHOT_TASKS = ["image_snapshot", "image_pending_upload", "image_uploading"]
SHELVE_TASKS = ["shelving", "shelving_image_pending_upload", "shelving_image_uploading"]


class UploadFailed(Exception):
    pass


class ImageSteps:
    def __init__(self, acts: Actions) -> None:
        self.acts = acts
        self.agent = acts.agent
        self.timers: dict[str, asyncio.TimerHandle] = {}

    def handlers(self) -> dict[str, Any]:
        return {"snapshot": self.snapshot, "shelve": self.shelve, "shelve_offload": self.shelve_offload,
                "unshelve": self.unshelve, "backup": self.backup}

    @property
    def clients(self) -> Any:
        return self.acts.clients

    # -- uploading ---------------------------------------------------------------------------
    async def _upload(self, job: Job, image_id: str, tasks: tuple[str, str, str]) -> None:
        """Snapshot the guest into image ``image_id``, through ``tasks`` (from, pending, uploading)."""
        if not await self.acts.update(job, tasks[0], {"task_state": tasks[1]}):
            raise UploadFailed("the instance changed meanwhile")
        snap = await self.acts.driver.snapshot(job.rec)
        try:
            if not await self.acts.update(job, tasks[1], {"task_state": tasks[2]}):
                raise UploadFailed("the instance changed meanwhile")
            r = await self.clients.request("image", "PATCH", f"/v2/images/{image_id}", headers=PATCH, json=[
                {"op": "replace", "path": "/disk_format", "value": snap.disk_format},
                {"op": "replace", "path": "/container_format", "value": snap.container_format}])
            if r.status_code != 200:
                raise UploadFailed(f"image {image_id} could not be prepared ({r.status_code}): {r.text[:200]}")
            r = await self.clients.request("image", "PUT", f"/v2/images/{image_id}/file", content=snap.stream(),
                                           headers={"Content-Type": "application/octet-stream"})
            if r.status_code != 204:
                raise UploadFailed(f"upload to image {image_id} failed ({r.status_code}): {r.text[:200]}")
        except ServiceUnavailable as e:
            raise UploadFailed(e.message) from None
        finally:
            await snap.close()

    async def _delete_image(self, image_id: str | None) -> None:
        if not image_id:
            return
        try:
            r = await self.clients.request("image", "DELETE", f"/v2/images/{image_id}")
            if r.status_code not in (204, 404):
                LOG.warning("removing image %s: the image service answered %s", image_id, r.status_code)
        except ServiceUnavailable as e:
            LOG.warning("removing image %s: %s", image_id, e.message)

    # -- createImage ---------------------------------------------------------------------------
    async def snapshot(self, job: Job) -> None:
        event, image_id = "compute_snapshot_instance", job.args.get("image_id")
        job.action = "createImage"
        reply = await self.acts.update_reply(job, "image_snapshot", {}, event)
        if not reply.get("updated"):
            # Lost to a delete: the record goes too. A copy of a message whose snapshot went on (a
            # recovery and a late message) leaves the image to that snapshot.
            if lost_to_delete(reply):
                await self._delete_image(image_id)
            return
        await self.acts.notify("snapshot", "start", job.rec, image_id=image_id)
        try:
            await self._upload(job, image_id, ("image_snapshot", "image_pending_upload", "image_uploading"))
        except (DriverError, UploadFailed) as e:
            why = e.message if isinstance(e, DriverError) else str(e)
            LOG.warning("snapshot %s of %s failed: %s", image_id, job.id, why)
            await self._delete_image(image_id)
            await self.acts.update(job, SNAPSHOT_TASKS, {"task_state": None}, event, result="Error", traceback=why)
            await self.acts.notify("snapshot", "error", job.rec, image_id=image_id, message=why)
            return
        await self.acts.update(job, "image_uploading", {"task_state": None}, event, result="Success")
        await self.acts.notify("snapshot", "end", job.rec, image_id=image_id)

    # -- createBackup ----------------------------------------------------------------------------
    async def backup(self, job: Job) -> None:
        """A snapshot into a backup image, then Nova's rotation: of the server's backups of that
        ``backup_type``, the newest ``rotation`` stay and the older ones are deleted (all of them,
        the new one too, for a rotation of 0)."""
        event, image_id = "compute_backup_instance", job.args.get("image_id")
        job.action = "createBackup"
        reply = await self.acts.update_reply(job, "image_backup", {}, event)
        if not reply.get("updated"):
            if lost_to_delete(reply):
                await self._delete_image(image_id)
            return
        await self.acts.notify("backup", "start", job.rec, image_id=image_id)
        try:
            await self._upload(job, image_id, ("image_backup", "image_pending_upload", "image_uploading"))
        except (DriverError, UploadFailed) as e:
            why = e.message if isinstance(e, DriverError) else str(e)
            LOG.warning("backup %s of %s failed: %s", image_id, job.id, why)
            await self._delete_image(image_id)
            await self.acts.update(job, ["image_backup", *SNAPSHOT_TASKS[1:]], {"task_state": None}, event,
                                   result="Error", traceback=why)
            await self.acts.notify("backup", "error", job.rec, image_id=image_id, message=why)
            return
        await self._rotate(job.id, str(job.args.get("backup_type") or ""), int(job.args.get("rotation") or 0))
        await self.acts.update(job, "image_uploading", {"task_state": None}, event, result="Success")
        await self.acts.notify("backup", "end", job.rec, image_id=image_id)

    async def _rotate(self, instance_id: str, backup_type: str, rotation: int) -> None:
        try:
            r = await self.clients.request("image", "GET", "/v2/images", params=[
                ("image_type", "backup"), ("backup_type", backup_type), ("instance_uuid", instance_id),
                ("sort_key", "created_at"), ("sort_dir", "desc"), ("limit", "1000")])
        except ServiceUnavailable as e:
            LOG.warning("rotating the %s backups of %s: %s", backup_type, instance_id, e.message)
            return
        if r.status_code != 200:
            LOG.warning("rotating the %s backups of %s: the image service answered %s", backup_type,
                        instance_id, r.status_code)
            return
        images = r.json().get("images", [])
        for old in images[rotation:]:
            LOG.info("rotation of the %s backups of %s deletes image %s", backup_type, instance_id, old["id"])
            await self._delete_image(old["id"])

    # -- shelve ----------------------------------------------------------------------------------
    async def _report(self, step: str, job: Job, **extra: Any) -> dict[str, Any]:
        return await self.agent.call_conductor("shelve_report", {
            "instance_id": job.id, "step": step, "host": self.agent.host, "request_id": job.request_id,
            "action": job.action, **extra}) or {}

    async def shelve(self, job: Job) -> None:
        event, image_id = "compute_shelve_instance", job.args.get("image_id")
        reply = await self.acts.update_reply(job, "shelving", {}, event)
        if not reply.get("updated"):
            if lost_to_delete(reply):
                await self._delete_image(image_id)
            return
        await self.acts.notify("shelve", "start", job.rec)
        offload_time = int(job.args.get("offload_time", 0))
        try:
            await self.acts.driver.power_off(job.rec)
            await self._upload(job, image_id, ("shelving", "shelving_image_pending_upload",
                                                "shelving_image_uploading"))
        except (DriverError, UploadFailed) as e:
            why = e.message if isinstance(e, DriverError) else str(e)
            LOG.warning("shelve of %s failed: %s", job.id, why)
            await self._delete_image(image_id)
            await self.acts.update(job, SHELVE_TASKS, {"task_state": None, "power_state": await self.acts.power(
                job.id)}, event, result="Error", traceback=why)
            await self.acts.notify("shelve", "error", job.rec, message=why)
            return
        reply = await self._report("shelved", job, image_id=image_id, offload=offload_time == 0,
                                   power_state=await self.acts.power(job.id))
        await self.acts.notify("shelve", "end", {**job.rec, "vm_state": "shelved"})
        if not reply.get("updated"):
            return
        if offload_time == 0:
            await self._offload(job)
        elif offload_time > 0:
            self._later(job, offload_time)

    def _later(self, job: Job, seconds: int) -> None:
        """Offload after ``seconds`` if it is still shelved then (not kept across agent restarts)."""
        async def offload() -> None:
            self.timers.pop(job.id, None)
            try:
                if await self.acts.update(job, None, {"task_state": "shelving_offloading"},
                                          expected_vm_state="shelved", expected_host=self.agent.host):
                    async with self.acts.locks[job.id]:
                        await self._offload(job)
            except CloudError as e:
                LOG.warning("offloading shelved %s failed: %s", job.id, e.message)

        old = self.timers.pop(job.id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self.timers[job.id] = loop.call_later(seconds, lambda: loop.create_task(offload()))

    async def shelve_offload(self, job: Job) -> None:
        job.action = "shelveOffload"
        await self._offload(job)

    async def _offload(self, job: Job) -> None:
        event = "compute_shelve_offload_instance"
        if not await self.acts.update(job, "shelving_offloading", {}, event):
            return
        await self.acts.notify("shelve_offload", "start", job.rec)
        try:
            await self.acts.driver.destroy(job.rec, job.rec.get("network_info") or [])
        except InstanceNotFoundInDriver:
            pass
        except DriverError as e:
            await self.acts.update(job, "shelving_offloading", {"task_state": None}, event, result="Error",
                                   traceback=e.message)
            return
        await ports.unbind(self.clients, job.rec.get("network_info") or [])
        await self._report("offloaded", job, event=event)
        await self.acts.notify("shelve_offload", "end", {**job.rec, "vm_state": "shelved_offloaded"})

    # -- unshelve --------------------------------------------------------------------------------
    async def unshelve(self, job: Job) -> None:
        event, rec = "compute_unshelve_instance", job.rec
        image_id = job.args.get("image_id")
        if not await self.acts.update(job, "unshelving", {}, event):
            return
        await self.acts.notify("unshelve", "start", rec)
        vifs = rec.get("network_info") or []
        try:
            if job.args.get("on_host"):
                await self.acts.driver.power_on(rec)
            else:
                vifs = await ports.bind(self.clients, vifs, self.agent.host)
                image = await self._image(image_id, rec)
                await self.acts.update(job, "unshelving", {"task_state": "spawning"})
                await self.acts.driver.spawn(rec, image, vifs, block_devices=rec.get("block_devices"))
        except (DriverError, ServiceUnavailable) as e:
            LOG.warning("unshelve of %s on %s failed: %s", job.id, self.agent.host, e.message)
            if not job.args.get("on_host"):
                try:
                    await self.acts.driver.destroy(rec, vifs)
                except DriverError:
                    pass
                await ports.unbind(self.clients, vifs)
            await self._report("unshelve_failed", job, event=event, reason=e.message,
                               on_host=bool(job.args.get("on_host")))
            return
        await self._report("unshelved", job, event=event, power_state=await self.acts.power(job.id),
                           network_info=vifs)
        await self._delete_image(image_id)
        await self.acts.notify("unshelve", "end", {**rec, "vm_state": "active"})

    async def _image(self, image_id: str | None, rec: dict[str, Any]) -> dict[str, Any]:
        if image_id:
            r = await self.clients.request("image", "GET", f"/v2/images/{image_id}")
            if r.status_code == 200:
                return r.json()
        return rec.get("image") or {"id": rec.get("image_ref")}
