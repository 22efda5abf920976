"""The volumes of a server booting from volume, between placement and its host (Nova's
``_prep_block_device``, done here because the host's agent never touches the database).

The API reserved the existing volumes and created the new ones (``service.server_boot_volumes``);
before the build goes to the chosen host the conductor waits, bounded by
``block_device_allocate_retries``, for each to be ready (a volume that goes to ``error``, or is not
ready in time, fails the build with a fault that names it), gives the attachment the host's
connector, and records the connection info in the BDM row and in the build's block devices, which
the driver's ``spawn`` takes. When the host reports the server active, the attachments are
completed (the volumes go ``in-use``). All of it with the service token: block storage lets an
admin act on any project's volume. A reschedule sends the attachment the next host's connector.

A build that fails leaves the volumes where they are (attached, or reserved, to the server in
ERROR), as Nova does: the server's delete releases them and deletes those with
delete_on_termination."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy import select

from nubes.core.exceptions import ServiceUnavailable
from nubes.compute.db.models import BlockDeviceMapping, ComputeNode
from nubes.compute.db.queries import instances as qi
from nubes.compute.service.server_volumes import volume_error_message, volume_request

LOG = logging.getLogger(__name__)
READY = ("available", "reserved", "attaching")


class VolumeNotReady(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _rows(c: Any, iid: str) -> list[BlockDeviceMapping]:
    async with c.db.reader() as s:
        return list((await s.execute(select(BlockDeviceMapping).where(
            BlockDeviceMapping.instance_id == iid, BlockDeviceMapping.destination_type == "volume")
            .order_by(BlockDeviceMapping.id))).scalars())


async def attach(c: Any, iid: str, host: str) -> str | None:
    """Make the instance's volumes ready on ``host``; answers None, or why the build cannot go on."""
    rows = await _rows(c, iid)
    if not rows:
        return None
    async with c.db.reader() as s:
        ip = next((n.host_ip for n in (await s.execute(select(ComputeNode).where(ComputeNode.host == host)))
                   .scalars() if n.host_ip), None)
    attached: dict[str, dict[str, Any]] = {}
    try:
        for b in rows:
            if not b.volume_id:
                raise VolumeNotReady(f"The volume of block device {b.device_name} was never created.")
            await _wait(c, b.volume_id)
            att_id = b.attachment_id or await _reserve(c, iid, b.volume_id)
            connector = {"host": host, "ip": ip, "initiator": None, "multipath": False, "platform": "x86_64",
                         "os_type": "linux", "mountpoint": b.device_name}
            r = await volume_request(c.clients, "PUT", f"/attachments/{att_id}",
                                     json={"attachment": {"connector": connector}})
            if r.status_code != 200:
                raise VolumeNotReady(f"Volume {b.volume_id} could not be attached: {volume_error_message(r)}")
            conn = r.json()["attachment"].get("connection_info") or {}
            async with c.db.session() as s:
                row = await s.get(BlockDeviceMapping, b.id)
                if row is not None:
                    row.attachment_id, row.connection_info = att_id, conn
            attached[b.device_name or ""] = {"volume_id": b.volume_id, "connection_info": conn,
                                             "attachment_id": att_id}
    except ServiceUnavailable as e:
        return e.message
    except VolumeNotReady as e:
        return e.message
    async with c.db.session() as s:
        row = await qi.get(s, iid, for_update=True)
        if row is not None:
            req = dict(row.request or {})
            req["block_devices"] = [{**d, **attached.get(d.get("device_name") or "", {})}
                                    if d.get("destination_type") == "volume" else d
                                    for d in req.get("block_devices") or []]
            row.request = req
    return None


async def _reserve(c: Any, iid: str, volume_id: str) -> str:
    r = await volume_request(c.clients, "POST", "/attachments", json={"attachment": {
        "volume_uuid": volume_id, "instance_uuid": iid}})
    if r.status_code != 200:
        raise VolumeNotReady(f"Volume {volume_id} could not be attached: {volume_error_message(r)}")
    att_id = r.json()["attachment"]["id"]
    async with c.db.session() as s:
        row = (await s.execute(select(BlockDeviceMapping).where(
            BlockDeviceMapping.instance_id == iid, BlockDeviceMapping.volume_id == volume_id))).scalars().first()
        if row is not None:
            row.attachment_id = att_id
    if row is None:           # the server's delete released its volumes meanwhile: leave nothing behind
        await volume_request(c.clients, "DELETE", f"/attachments/{att_id}")
        raise VolumeNotReady(f"Instance {iid} was deleted while its volumes were attached.")
    return att_id


async def _wait(c: Any, volume_id: str) -> None:
    """Until the volume can be attached: creating and downloading go on, error is final."""
    attempts = max(1, int(c.conf.block_device_allocate_retries))
    ceiling = float(c.conf.block_device_allocate_retries_interval)
    pause, waited, status = 0.1, 0.0, "unknown"
    for _ in range(attempts):
        r = await volume_request(c.clients, "GET", f"/volumes/{volume_id}")
        if r.status_code == 404:
            raise VolumeNotReady(f"Volume {volume_id} could not be found.")
        status = r.json()["volume"].get("status") if r.status_code == 200 else "unknown"
        if status in READY:
            return
        if status == "error":
            break
        await asyncio.sleep(pause)
        waited += pause
        pause = min(pause * 2, ceiling)
    raise VolumeNotReady(f"Volume {volume_id} did not finish being created even after we waited "
                         f"{int(waited)} seconds or {attempts} attempts. And its status is {status}.")


async def complete(c: Any, iid: str) -> None:
    """The server runs: its attachments complete (the volumes go in-use, attached to it)."""
    for b in await _rows(c, iid):
        if not b.attachment_id:
            continue
        try:
            r = await volume_request(c.clients, "POST", f"/attachments/{b.attachment_id}/action",
                                     json={"os-complete": None})
        except ServiceUnavailable as e:
            LOG.warning("completing attachment %s of %s: %s", b.attachment_id, iid, e.message)
            continue
        if r.status_code not in (200, 202, 204):
            LOG.warning("completing attachment %s of %s: %s", b.attachment_id, iid, volume_error_message(r))
