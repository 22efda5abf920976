"""A server's volumes (os-volume_attachments): attach and detach through block storage's
attachments API (the caller's token, in the caller's project, as Nova's cinder client does) and
the agent of the server's host, with one block device mapping row per attached volume.

Attach: reserve the device name (a BDM row without an attachment), create the attachment
(reserved), update it with the host's connector (connection info), plug the volume in the guest
(bus call), complete the attachment (volume in-use). Any failure removes the attachment and the
BDM again.

The name is chosen and its row inserted with the instance's row locked (SELECT ... FOR UPDATE;
SQLite's writes are serial anyway), so two attaches to one server at once, from any API
workers, never get the same device name or attach one volume twice."""

from __future__ import annotations

import logging
import string
from typing import Any

import httpx
from sqlalchemy import delete, select

from nubes.core.context import RequestContext
from nubes.core.exceptions import ServiceUnavailable, Timeout
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import BlockDeviceMapping, ComputeNode
from nubes.compute.db.queries import instances as qi
from nubes.compute.service import server_records
from nubes.compute.service.server_actions_rules import RULES

LOG = logging.getLogger(__name__)
MICROVERSION = {"OpenStack-API-Version": "volume 3.44"}


def volume_error_message(r: httpx.Response) -> str:
    """The message of a block storage error body (its first value's ``message``), else its text."""
    try:
        body = r.json()
        return next(iter(body.values())).get("message") or r.text[:200]
    except (ValueError, AttributeError, StopIteration, TypeError):
        return r.text[:200]


async def volume_request(clients: Any, method: str, path: str, *, project: str | None = None,
                         token: str | None = None, request_id: str | None = None, **kw: Any) -> httpx.Response:
    """Block storage at ``/v3/{project}{path}`` with ``token`` (the user's, in its project: the
    catalog's URL names the service's own project), or with the service token (no ``project``)."""
    base = (await clients.endpoint("volumev3")).rstrip("/")
    url = f"{base}{path}"
    if project is not None and "/v3" in base:
        url = f"{base[:base.rindex('/v3') + 3]}/{project}{path}"
    headers = {"X-Auth-Token": token or await clients.tokens.service_token(), **MICROVERSION}
    if request_id:
        headers["X-OpenStack-Request-ID"] = request_id
    try:
        r = await clients.http.request(method, url, headers=headers, **kw)
    except httpx.HTTPError as e:
        raise ServiceUnavailable(f"The volume service is unreachable: {e}") from None
    if r.status_code >= 500:
        raise ServiceUnavailable(f"The volume service failed ({r.status_code}).")
    return r


async def release(clients: Any, db: Any, instance_id: str) -> None:
    """At a server's delete: its attachments deleted (the volumes go back to available) and the
    volumes whose BDM says delete_on_termination deleted, with the service token; the BDM rows go.
    A volume service that cannot be reached leaves the rows for a later delete to try again."""
    async with db.reader() as s:
        rows = list((await s.execute(select(BlockDeviceMapping).where(
            BlockDeviceMapping.instance_id == instance_id,
            BlockDeviceMapping.destination_type == "volume"))).scalars())
    for b in rows:
        try:
            if b.attachment_id:
                r = await volume_request(clients, "DELETE", f"/attachments/{b.attachment_id}")
                if r.status_code not in (200, 202, 204, 404):
                    LOG.warning("deleting attachment %s of %s: %s", b.attachment_id, instance_id, volume_error_message(r))
            if b.delete_on_termination and b.volume_id:
                r = await volume_request(clients, "DELETE", f"/volumes/{b.volume_id}")
                if r.status_code not in (202, 204, 404):
                    LOG.warning("deleting volume %s of %s: %s", b.volume_id, instance_id, volume_error_message(r))
        except ServiceUnavailable as e:
            LOG.warning("releasing volume %s of %s: %s", b.volume_id, instance_id, e)
            continue
        async with db.session() as s:
            await s.execute(delete(BlockDeviceMapping).where(BlockDeviceMapping.id == b.id))


class ServerVolumes:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    async def _volume(self, ctx: RequestContext, method: str, path: str, **kw: Any) -> httpx.Response:
        return await volume_request(self.state.rt.clients, method, path, project=ctx.project_id,
                                    token=ctx.auth_token, request_id=ctx.request_id, **kw)

    async def bdms(self, instance_id: str) -> list[BlockDeviceMapping]:
        async with self.state.db.reader() as s:
            rows = await s.execute(select(BlockDeviceMapping).where(
                BlockDeviceMapping.instance_id == instance_id,
                BlockDeviceMapping.destination_type == "volume").order_by(BlockDeviceMapping.id))
            return list(rows.scalars())

    async def attached(self, ctx: RequestContext, instance_id: str) -> list[BlockDeviceMapping]:
        async with self.state.db.reader() as s:
            await self.actions.visible(s, ctx, instance_id)
        return await self.bdms(instance_id)

    async def one(self, ctx: RequestContext, instance_id: str, volume_id: str) -> BlockDeviceMapping:
        for b in await self.attached(ctx, instance_id):
            if b.volume_id == volume_id:
                return b
        raise exc.NotFound(f"Instance {instance_id} is not attached to volume {volume_id}.")

    async def set_delete_on_termination(self, ctx: RequestContext, instance_id: str, volume_id: str,
                                        value: bool) -> None:
        bdm = await self.one(ctx, instance_id, volume_id)
        async with self.state.db.session() as s:
            row = await s.get(BlockDeviceMapping, bdm.id)
            if row is None:
                raise exc.NotFound(f"Instance {instance_id} is not attached to volume {volume_id}.")
            row.delete_on_termination = value

    async def _host_ip(self, host: str) -> str | None:
        async with self.state.db.reader() as s:
            rows = await s.execute(select(ComputeNode.host_ip).where(ComputeNode.host == host))
            return next((ip for ip in rows.scalars() if ip), None)

    @staticmethod
    def _device(wanted: str | None, used: set[str]) -> str:
        if wanted:
            if wanted in used:
                raise exc.BadRequest(f"The supplied device path ({wanted}) is in use.")
            return wanted
        for letter in string.ascii_lowercase[1:]:
            if f"/dev/vd{letter}" not in used:
                return f"/dev/vd{letter}"
        raise exc.BadRequest("No free disk device names for prefix 'vd'")

    async def attach(self, ctx: RequestContext, instance_id: str, volume_id: str, *, device: str | None,
                     tag: str | None, delete_on_termination: bool) -> BlockDeviceMapping:
        row = await self.actions.precheck(ctx, instance_id, RULES["attach_volume"])
        if any(b.volume_id == volume_id for b in await self.bdms(instance_id)):
            raise exc.BadRequest(f"Invalid volume: volume {volume_id} is already attached to instance "
                                 f"{instance_id}.")
        r = await self._volume(ctx, "GET", f"/volumes/{volume_id}")
        if r.status_code == 404:
            raise exc.NotFound(f"Volume {volume_id} could not be found.")
        if r.status_code != 200:
            raise exc.BadRequest(f"Invalid volume: {volume_error_message(r)}")
        vol = r.json()["volume"]
        shared = bool(vol.get("multiattach"))
        if shared and ctx.api_version < (2, 60):
            raise exc.BadRequest("Multiattach volumes are only supported starting with compute API "
                                 "version 2.60.")
        if vol.get("status") != "available" and not (shared and vol.get("status") == "in-use"):
            raise exc.BadRequest(f"Invalid volume: volume '{volume_id}' status must be 'available'. "
                                 f"Currently in '{vol.get('status')}'")
        bdm_id, dev = await self._reserve_device(instance_id, volume_id, device, vol.get("size"),
                                                 delete_on_termination, tag)
        try:
            r = await self._volume(ctx, "POST", "/attachments", json={"attachment": {
                "volume_uuid": volume_id, "instance_uuid": instance_id}})
        except BaseException:
            await self._forget(bdm_id)
            raise
        if r.status_code != 200:
            await self._forget(bdm_id)
            raise exc.BadRequest(f"Invalid volume: {volume_error_message(r)}")
        att_id = r.json()["attachment"]["id"]
        try:
            connector = {"host": row.host, "ip": await self._host_ip(row.host), "initiator": None,
                         "multipath": False, "platform": "x86_64", "os_type": "linux", "mountpoint": dev}
            r = await self._volume(ctx, "PUT", f"/attachments/{att_id}", json={"attachment": {"connector": connector}})
            if r.status_code != 200:
                raise exc.BadRequest(f"Invalid volume: {volume_error_message(r)}")
            conn = r.json()["attachment"].get("connection_info") or {}
            if shared:
                conn["multiattach"] = True      # as Nova marks it: the driver opens the disk shared
            async with self.state.db.session() as s:
                bdm = await s.get(BlockDeviceMapping, bdm_id)
                if bdm is None:           # the server's delete released its volumes meanwhile
                    raise exc.NotFound(f"Instance {instance_id} could not be found.")
                bdm.attachment_id, bdm.connection_info = att_id, conn
            try:
                await self.state.bus.call(rpc.agent_topic(row.host), "attach_volume", {
                    "instance_id": instance_id, "instance": server_records.record(row), "volume_id": volume_id,
                    "connection_info": conn, "mountpoint": dev, "request_id": ctx.request_id},
                    timeout=self.state.conf.rpc_timeout)
            except Timeout:
                raise exc.ComputeServiceUnavailable(row.host) from None
            r = await self._volume(ctx, "POST", f"/attachments/{att_id}/action", json={"os-complete": None})
            if r.status_code not in (200, 202, 204):
                raise exc.BadRequest(f"Invalid volume: {volume_error_message(r)}")
        except BaseException:
            try:
                await self._volume(ctx, "DELETE", f"/attachments/{att_id}")
            except ServiceUnavailable as e:
                LOG.warning("attachment %s of %s left behind: %s", att_id, instance_id, e.message)
            await self._forget(bdm_id)
            raise
        return await self.one(ctx, instance_id, volume_id)

    async def _reserve_device(self, instance_id: str, volume_id: str, wanted: str | None, size: Any,
                              delete_on_termination: bool, tag: str | None) -> tuple[int, str]:
        """Insert the attachment's BDM row under a free device name, the instance's row locked
        (see the module's docstring)."""
        async with self.state.db.session() as s:
            if await qi.get(s, instance_id, for_update=True) is None:
                raise exc.NotFound(f"Instance {instance_id} could not be found.")
            rows = (await s.execute(select(BlockDeviceMapping).where(
                BlockDeviceMapping.instance_id == instance_id))).scalars().all()
            if any(b.volume_id == volume_id and b.destination_type == "volume" for b in rows):
                raise exc.BadRequest(f"Invalid volume: volume {volume_id} is already attached to "
                                     f"instance {instance_id}.")
            dev = self._device(wanted, {b.device_name for b in rows if b.device_name} | {"/dev/vda"})
            bdm = BlockDeviceMapping(instance_id=instance_id, source_type="volume", destination_type="volume",
                                     device_name=dev, volume_id=volume_id, volume_size=size,
                                     delete_on_termination=delete_on_termination, tag=tag)
            s.add(bdm)
            await s.flush()
            return bdm.id, dev

    async def _forget(self, bdm_id: int) -> None:
        async with self.state.db.session() as s:
            await s.execute(delete(BlockDeviceMapping).where(BlockDeviceMapping.id == bdm_id))

    async def detach(self, ctx: RequestContext, instance_id: str, volume_id: str) -> None:
        row = await self.actions.precheck(ctx, instance_id, RULES["detach_volume"])
        bdm = await self.one(ctx, instance_id, volume_id)
        if bdm.boot_index == 0:
            raise exc.BadRequest("Can't detach root device volume")
        try:
            await self.state.bus.call(rpc.agent_topic(row.host), "detach_volume", {
                "instance_id": instance_id, "instance": server_records.record(row), "volume_id": volume_id,
                "connection_info": bdm.connection_info, "mountpoint": bdm.device_name,
                "request_id": ctx.request_id}, timeout=self.state.conf.rpc_timeout)
        except Timeout:
            raise exc.ComputeServiceUnavailable(row.host) from None
        if bdm.attachment_id:
            r = await self._volume(ctx, "DELETE", f"/attachments/{bdm.attachment_id}")
            if r.status_code not in (200, 202, 204, 404):
                raise exc.BadRequest(f"Detaching volume {volume_id} failed: {volume_error_message(r)}")
        async with self.state.db.session() as s:
            await s.execute(delete(BlockDeviceMapping).where(BlockDeviceMapping.id == bdm.id))
