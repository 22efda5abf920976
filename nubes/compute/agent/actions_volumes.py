"""Volumes of an instance on its host: the agent's ``attach_volume``, ``detach_volume`` and
``extend_volume`` (bus calls; the caller — the conductor, driving block storage's attachments —
may also cast them and learn the outcome from the instance action's event).

Each takes the instance (``instance``: its record, or ``instance_id`` alone), the volume's id and
block storage's connection info (``nubes/volume/drivers/base.py``, "Connection info"; see
``nubes/compute/drivers/base.py``, "Volumes", for what the driver accepts), runs the driver
under the instance's action lock (so it does not interleave with a power action or a move),
and answers what the host now has. With a ``request_id`` the instance action of that request
gets its event (``compute_attach_volume``, ``compute_detach_volume``, ``compute_extend_volume``,
Nova's names) with the result; ``compute.instance.volume_attach/volume_detach.start/end`` are
published as Nova's notifications are. Errors: the instance is not on this host →
``InstanceNotFound`` (404); the driver refuses or fails → ``VolumeActionFailed`` (409) with its message
(``details["retryable"]`` when trying again may work: a guest that did not yet release a disk). Every handler is idempotent, as the driver is.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute.agent.actions import Actions, Job
from nubes.compute.drivers.base import DriverError, InstanceNotFoundInDriver
from nubes.core.exceptions import BadRequest

LOG = logging.getLogger(__name__)
GiB = 1024 ** 3


def _job(payload: dict, action: str) -> Job:
    rec = payload.get("instance")
    if not isinstance(rec, dict) or not rec.get("id"):
        iid = payload.get("instance_id")
        if not isinstance(iid, str) or not iid:
            raise BadRequest(f"{action} needs instance_id (or the instance record).")
        rec = {"id": iid}
    return Job(dict(rec), payload.get("request_id"), action, {})


def _connection(payload: dict, *, required: bool) -> dict[str, Any]:
    vid = payload.get("volume_id")
    info = payload.get("connection_info")
    if not isinstance(vid, str) or not vid:
        raise BadRequest("volume_id is required.")
    if info is None and not required:
        return {"volume_id": vid}
    if not isinstance(info, dict):
        raise BadRequest("connection_info must be block storage's connection info object.")
    return {**info, "volume_id": vid}


class VolumeSteps:
    def __init__(self, acts: Actions) -> None:
        self.acts = acts
        self.agent = acts.agent

    def handlers(self) -> dict[str, Any]:
        return {"attach_volume": self.attach_volume, "detach_volume": self.detach_volume,
                "extend_volume": self.extend_volume}

    async def _event(self, job: Job, event: str, result: str | None = None, traceback: str | None = None) -> None:
        if job.request_id:
            await self.acts.update(job, ..., {}, event, result=result, traceback=traceback)

    async def _run(self, job: Job, event: str, notify: str | None, call: Any, **extra: Any) -> None:
        async with self.acts.locks[job.id]:
            await self._event(job, event)
            if notify:
                await self.acts.notify(notify, "start", job.rec, **extra)
            try:
                await call()
            except InstanceNotFoundInDriver:
                await self._event(job, event, "Error", f"Instance {job.id} is not on host {self.agent.host}.")
                raise exc.InstanceNotFound(job.id) from None
            except DriverError as e:
                LOG.warning("%s of %s on %s failed: %s", job.action, job.id, self.agent.host, e.message)
                await self._event(job, event, "Error", e.message)
                if notify:
                    await self.acts.notify(notify, "error", job.rec, message=e.message, **extra)
                raise exc.VolumeActionFailed(e.message, e.retryable) from None
            await self._event(job, event, "Success")
            if notify:
                await self.acts.notify(notify, "end", job.rec, **extra)

    async def attach_volume(self, payload: dict) -> dict[str, Any]:
        """{instance_id | instance, volume_id, connection_info, mountpoint?, request_id?}
        → {volume_id, mountpoint}"""
        job = _job(payload, "attach_volume")
        conn = _connection(payload, required=True)
        mountpoint = payload.get("mountpoint") or ""
        if not isinstance(mountpoint, str):
            raise BadRequest("mountpoint must be a device name such as /dev/vdb.")
        await self._run(job, "compute_attach_volume", "volume_attach",
                        lambda: self.acts.driver.attach_volume(job.rec, conn, mountpoint),
                        volume_id=conn["volume_id"])
        return {"volume_id": conn["volume_id"], "mountpoint": mountpoint or None}

    async def detach_volume(self, payload: dict) -> dict[str, Any]:
        """{instance_id | instance, volume_id, connection_info?, mountpoint?, request_id?}
        → {volume_id, detached: true}"""
        job = _job(payload, "detach_volume")
        conn = _connection(payload, required=False)
        mountpoint = payload.get("mountpoint") or ""
        await self._run(job, "compute_detach_volume", "volume_detach",
                        lambda: self.acts.driver.detach_volume(job.rec, conn, str(mountpoint)),
                        volume_id=conn["volume_id"])
        return {"volume_id": conn["volume_id"], "detached": True}

    async def extend_volume(self, payload: dict) -> dict[str, Any]:
        """{instance_id | instance, volume_id, new_size (GiB) | new_size_bytes, connection_info?,
        request_id?} → {volume_id, size_bytes}"""
        job = _job(payload, "extend_volume")
        conn = _connection(payload, required=False)
        size = payload.get("new_size_bytes")
        if size is None and payload.get("new_size") is not None:
            size = payload["new_size"] * GiB if isinstance(payload["new_size"], int) else None
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise BadRequest("new_size (GiB) or new_size_bytes must be a positive integer.")
        await self._run(job, "compute_extend_volume", None,
                        lambda: self.acts.driver.extend_volume(job.rec, conn, size))
        return {"volume_id": conn["volume_id"], "size_bytes": size}
