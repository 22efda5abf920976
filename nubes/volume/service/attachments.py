"""Attachments (Cinder's attachments API, 3.27+, which compute uses): reserve a volume for an
instance, export it to a connector (the manager's ``export_volume`` call), complete, delete
(``unexport_volume``). The volume's status follows its attachments: ``reserved`` → ``attaching``
→ ``in-use``; back to ``available`` when its last attachment goes.

Every state change is one database transaction; the bus call to the manager happens between two
of them, so a failed export leaves the attachment as it was (``reserved``) with nothing exported."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume import rpc
from nubes.volume.db.models import Volume, VolumeAdminMetadata, VolumeAttachment

ATTACHABLE = ("available", "in-use", "reserved", "attaching", "downloading")


class AttachmentNotFound(exc.NotFound):
    code = "volume.attachment_not_found"

    def __init__(self, attachment_id: str) -> None:
        super().__init__(f"VolumeAttachment {attachment_id} could not be found.")


class Attachments:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.bus = state.bus

    async def _get(self, s: AsyncSession, attachment_id: str, see: set[str] | None
                   ) -> tuple[VolumeAttachment, Volume]:
        att = await s.get(VolumeAttachment, attachment_id) if len(attachment_id) <= 36 else None
        vol = await s.get(Volume, att.volume_id) if att is not None else None
        if att is None or vol is None or (see is not None and vol.project_id not in see):
            raise AttachmentNotFound(attachment_id)
        return att, vol

    async def owner(self, attachment_id: str) -> dict[str, Any]:
        async with self.db.reader() as s:
            _att, vol = await self._get(s, attachment_id, None)
            return {"project_id": vol.project_id, "user_id": vol.user_id}

    async def show(self, attachment_id: str, see: set[str] | None) -> VolumeAttachment:
        async with self.db.reader() as s:
            return (await self._get(s, attachment_id, see))[0]

    async def list(self, see: set[str] | None, filters: dict[str, str], limit: int | None,
                   marker: str | None) -> list[VolumeAttachment]:
        q = select(VolumeAttachment).join(Volume, Volume.id == VolumeAttachment.volume_id)
        if see is not None:
            q = q.where(Volume.project_id.in_(see))
        for key, column in (("volume_id", VolumeAttachment.volume_id),
                            ("instance_id", VolumeAttachment.instance_uuid),
                            ("instance_uuid", VolumeAttachment.instance_uuid),
                            ("status", VolumeAttachment.attach_status),
                            ("attach_status", VolumeAttachment.attach_status),
                            ("attached_host", VolumeAttachment.attached_host)):
            if key in filters:
                q = q.where(column == filters[key])
        q = q.order_by(VolumeAttachment.created_at.desc(), VolumeAttachment.id.desc())
        async with self.db.reader() as s:
            rows = list((await s.execute(q)).scalars())
        if marker is not None:
            ids = [r.id for r in rows]
            if marker not in ids:
                raise exc.InvalidInput(f"marker [{marker}] not found")
            rows = rows[ids.index(marker) + 1:]
        return rows[:limit] if limit is not None else rows

    # reserving
    async def create(self, volume_id: str, see: set[str] | None, instance_uuid: str | None,
                     connector: dict[str, Any] | None, mode: str) -> VolumeAttachment:
        async with self.db.session() as s:
            vol = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
            if vol is None or (see is not None and vol.project_id not in see):
                raise exc.VolumeNotFound(volume_id)
            await self._check_attachable(s, vol, instance_uuid)
            att = VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol.id, instance_uuid=instance_uuid,
                                   attach_mode=mode, attach_status="reserved")
            s.add(att)
            if vol.status == "available":
                vol.status = "reserved"
            attachment_id, record = att.id, await _export_record(s, vol, mode)
        if connector is not None:
            try:
                return await self._export(attachment_id, see, connector, record)
            except Exception:
                await self.delete(attachment_id, see, unexport=False)
                raise
        return await self.show(attachment_id, see)

    async def _check_attachable(self, s: AsyncSession, vol: Volume, instance_uuid: str | None) -> None:
        if vol.status not in ATTACHABLE or vol.task is not None or vol.host is None:
            raise exc.InvalidVolume(f"Volume {vol.id} status must be available or in-use to attach, "
                                    f"but the current status is {vol.status}.")
        others = list((await s.execute(select(VolumeAttachment).where(
            VolumeAttachment.volume_id == vol.id))).scalars())
        if others and not vol.multiattach:
            raise exc.InvalidVolume(f"Volume {vol.id} is already attached or reserved and is not a "
                                    "multiattach volume (multiattach=False).")
        if instance_uuid and any(o.instance_uuid == instance_uuid for o in others):
            raise exc.InvalidVolume(f"Volume {vol.id} is already attached to instance {instance_uuid}.")

    # exporting to a connector
    async def update(self, attachment_id: str, see: set[str] | None, connector: dict[str, Any]
                     ) -> VolumeAttachment:
        async with self.db.reader() as s:
            att, vol = await self._get(s, attachment_id, see)
            if att.attach_status not in ("reserved", "attaching", "attached"):
                raise exc.InvalidVolume(f"Attachment {att.id} status is {att.attach_status}; it cannot be "
                                        "updated.")
            if att.attach_status == "attached" and att.connector:
                raise exc.InvalidVolume(f"Attachment {att.id} is attached already; delete it to change "
                                        "its connector.")
            record = await _export_record(s, vol, att.attach_mode)
        return await self._export(attachment_id, see, connector, record)

    async def _export(self, attachment_id: str, see: set[str] | None, connector: dict[str, Any],
                      record: dict[str, Any]) -> VolumeAttachment:
        reply = await self.bus.call(rpc.manager_topic(rpc.backend_host(record["host"])), "export_volume", {
            "volume": record, "attachment_id": attachment_id, "connector": connector}, timeout=60)
        if reply.get("error"):
            raise exc.InvalidVolume(f"Unable to export volume {record['id']}: {reply['error']}")
        info = dict(reply["connection_info"])
        data = dict(info.get("data") or {})
        async with self.db.session() as s:
            att, vol = await self._get(s, attachment_id, see)
            data["attachment_id"] = att.id
            data.setdefault("access_mode", att.attach_mode)
            info["data"] = data
            att.connector, att.connection_info = connector, info
            att.attached_host = connector.get("host")
            att.mountpoint = connector.get("mountpoint") or att.mountpoint
            if att.attach_status == "reserved":
                att.attach_status = "attaching"
            if vol.status in ("available", "reserved"):
                vol.status = "attaching"
            return att

    async def complete(self, attachment_id: str, see: set[str] | None) -> None:
        async with self.db.session() as s:
            att, vol = await self._get(s, attachment_id, see)
            if att.attach_status == "attached":
                return
            if att.connection_info is None:
                raise exc.InvalidVolume(f"Attachment {att.id} has no connector yet: update it with one "
                                        "before completing it.")
            att.attach_status, att.attach_time = "attached", datetime.now(timezone.utc)
            vol.status, vol.attach_status = "in-use", "attached"

    # detaching
    async def delete(self, attachment_id: str, see: set[str] | None, *, unexport: bool = True) -> None:
        async with self.db.reader() as s:
            att, vol = await self._get(s, attachment_id, see)
            exported = att.connection_info is not None
            record = rpc.volume_record(vol, {})
        if unexport and exported and record["host"]:
            reply = await self.bus.call(rpc.manager_topic(rpc.backend_host(record["host"])), "unexport_volume",
                                        {"volume": record, "attachment_id": attachment_id}, timeout=60)
            if reply.get("error"):
                raise exc.InvalidVolume(f"Unable to terminate volume connection: {reply['error']}")
        async with self.db.session() as s:
            att = await s.get(VolumeAttachment, attachment_id)
            vol = await s.get(Volume, record["id"])
            if att is not None:
                await s.delete(att)
                await s.flush()
            if vol is not None:
                await refresh_status(s, vol)


async def refresh_status(s: AsyncSession, vol: Volume) -> None:
    """The volume's status from the attachments it has left."""
    left = list((await s.execute(select(VolumeAttachment).where(VolumeAttachment.volume_id == vol.id))).scalars())
    if vol.status in ("deleting", "error", "maintenance") or vol.task is not None:
        return
    if any(a.attach_status == "attached" for a in left):
        vol.status, vol.attach_status = "in-use", "attached"
    elif any(a.attach_status == "attaching" for a in left):
        vol.status, vol.attach_status = "attaching", "detached"
    elif left:
        vol.status, vol.attach_status = "reserved", "detached"
    else:
        vol.status, vol.attach_status = "available", "detached"


async def _export_record(s: AsyncSession, vol: Volume, mode: str) -> dict[str, Any]:
    """The volume's record for ``export``: read-only for a ``ro`` attachment or a volume whose
    readonly flag is set (os-update_readonly_flag)."""
    flag = await s.get(VolumeAdminMetadata, (vol.id, "readonly"))
    record = rpc.volume_record(vol, {})
    record["read_only"] = mode == "ro" or (flag is not None and flag.value.lower() == "true")
    return record


async def known_exports(s: AsyncSession, volume_ids: list[str]) -> list[str]:
    """The export ids a restarted manager keeps (the rest it unexports): every attachment's own
    and the legacy export of its connector's host."""
    out: list[str] = []
    for a in (await s.execute(select(VolumeAttachment).where(VolumeAttachment.volume_id.in_(volume_ids)))).scalars():
        out.append(a.id)
        if a.connector:
            out.append(legacy_export_id(a.volume_id, a.connector))
    return out


def legacy_export_id(volume_id: str, connector: dict[str, Any]) -> str:
    """os-initialize_connection has no attachment: its export is named for the volume and the
    connector's host, so os-terminate_connection finds the same one."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"nubes-legacy:{volume_id}:{connector.get('host') or ''}"))


class LegacyAttach:
    """The pre-3.27 attach actions (os-reserve ... os-force_detach), on the same records."""

    def __init__(self, attachments: Attachments) -> None:
        self.att = attachments
        self.db = attachments.db
        self.bus = attachments.bus

    async def _transition(self, volume_id: str, see: set[str] | None, allowed: tuple[str, ...], new: str,
                          what: str) -> None:
        async with self.db.session() as s:
            vol = await _volume(s, volume_id, see)
            if vol.status == new:
                return
            if vol.status not in allowed or vol.task is not None:
                raise exc.InvalidVolume(f"Volume {vol.id} status must be {' or '.join(allowed)} to {what}, "
                                        f"but the current status is {vol.status}.")
            if new == "attaching" and not vol.multiattach and vol.status == "in-use":
                raise exc.InvalidVolume(f"Volume {vol.id} is attached and is not a multiattach volume.")
            vol.status = new

    async def reserve(self, volume_id: str, see: set[str] | None) -> None:
        async with self.db.reader() as s:
            vol = await _volume(s, volume_id, see)
            allowed = ("available", "in-use") if vol.multiattach else ("available",)
        await self._transition(volume_id, see, allowed, "attaching", "reserve")

    async def unreserve(self, volume_id: str, see: set[str] | None) -> None:
        async with self.db.session() as s:
            vol = await _volume(s, volume_id, see)
            if vol.status != "attaching":
                return          # Cinder: unreserving a volume not reserved changes nothing
            vol.status = "available"
            await refresh_status(s, vol)

    async def begin_detaching(self, volume_id: str, see: set[str] | None) -> None:
        await self._transition(volume_id, see, ("in-use",), "detaching", "begin detaching")

    async def roll_detaching(self, volume_id: str, see: set[str] | None) -> None:
        async with self.db.session() as s:
            vol = await _volume(s, volume_id, see)
            if vol.status == "detaching":
                vol.status = "in-use"
                await refresh_status(s, vol)

    async def initialize_connection(self, volume_id: str, see: set[str] | None, connector: dict[str, Any]
                                    ) -> dict[str, Any]:
        async with self.db.reader() as s:
            vol = await _volume(s, volume_id, see)
            if vol.host is None or vol.status not in ("available", "attaching", "in-use", "reserved",
                                                      "detaching", "downloading"):
                raise exc.InvalidVolume(f"Volume {vol.id} status must be available or in-use to initialize "
                                        f"a connection, but the current status is {vol.status}.")
            record = await _export_record(s, vol, connector.get("mode") or "rw")
        reply = await self.bus.call(rpc.manager_topic(rpc.backend_host(record["host"])), "export_volume", {
            "volume": record, "attachment_id": legacy_export_id(volume_id, connector), "connector": connector},
            timeout=60)
        if reply.get("error"):
            raise exc.InvalidVolume(f"Unable to initialize volume connection: {reply['error']}")
        return reply["connection_info"]

    async def terminate_connection(self, volume_id: str, see: set[str] | None, connector: dict[str, Any]) -> None:
        async with self.db.reader() as s:
            vol = await _volume(s, volume_id, see)
            record = rpc.volume_record(vol, {})
        if record["host"]:
            reply = await self.bus.call(rpc.manager_topic(rpc.backend_host(record["host"])), "unexport_volume", {
                "volume": record, "attachment_id": legacy_export_id(volume_id, connector)}, timeout=60)
            if reply.get("error"):
                raise exc.InvalidVolume(f"Unable to terminate volume connection: {reply['error']}")

    async def attach(self, volume_id: str, see: set[str] | None, instance_uuid: str | None, host_name: str | None,
                     mountpoint: str | None, mode: str) -> None:
        async with self.db.session() as s:
            vol = await _volume(s, volume_id, see)
            if vol.status not in ("available", "attaching", "reserved", "in-use") or vol.task is not None:
                raise exc.InvalidVolume(f"Volume {vol.id} status must be available or attaching to attach, "
                                        f"but the current status is {vol.status}.")
            others = list((await s.execute(select(VolumeAttachment).where(
                VolumeAttachment.volume_id == vol.id))).scalars())
            if any(o.attach_status == "attached" for o in others) and not vol.multiattach:
                raise exc.InvalidVolume(f"Volume {vol.id} is already attached and is not a multiattach volume.")
            s.add(VolumeAttachment(id=str(uuid.uuid4()), volume_id=vol.id, instance_uuid=instance_uuid,
                                   attached_host=host_name, mountpoint=mountpoint, attach_mode=mode,
                                   attach_status="attached", attach_time=datetime.now(timezone.utc)))
            vol.status, vol.attach_status = "in-use", "attached"

    async def detach(self, volume_id: str, see: set[str] | None, attachment_id: str | None, *,
                     force: bool = False, connector: dict[str, Any] | None = None) -> None:
        async with self.db.reader() as s:
            vol = await _volume(s, volume_id, see)
            atts = list((await s.execute(select(VolumeAttachment).where(
                VolumeAttachment.volume_id == vol.id))).scalars())
            if not force and vol.status not in ("in-use", "detaching"):
                raise exc.InvalidVolume(f"Volume {vol.id} status must be in-use or detaching to detach, but "
                                        f"the current status is {vol.status}.")
            if attachment_id is not None:
                atts = [a for a in atts if a.id == attachment_id]
                if not atts:
                    raise AttachmentNotFound(attachment_id)
            elif len(atts) > 1 and not force:
                raise exc.InvalidVolume(f"Volume {vol.id} has more than one attachment: name the attachment_id.")
            ids = [a.id for a in atts]
        if force and connector:
            await self.terminate_connection(volume_id, see, connector)
        for aid in ids:
            await self.att.delete(aid, see)
        async with self.db.session() as s:
            vol = await s.get(Volume, volume_id)
            if vol is not None and vol.status in ("detaching", "attaching") and force:
                vol.status = "available"
            if vol is not None:
                await refresh_status(s, vol)


async def _volume(s: AsyncSession, volume_id: str, see: set[str] | None) -> Volume:
    vol = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
    if vol is None or (see is not None and vol.project_id not in see):
        raise exc.VolumeNotFound(volume_id)
    return vol
