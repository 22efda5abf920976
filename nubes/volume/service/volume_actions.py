"""Volume actions (POST /volumes/{id}/action) other than attachments: extend, bootable, read-only,
reset status, retype, revert to a snapshot, image metadata, upload to an image. The API layer
decided the policy; ``see`` is the set of projects the caller may see (None: every project).

Those the backend must do (extend, revert, upload) set the record's status and ``task`` (and
``task_args``, service/volume_tasks.py) in the transaction that checked it, then cast to the
volume's manager; the worker ends them (scheduler/reports.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume import rpc
from nubes.volume.db.models import (
    Snapshot,
    Volume,
    VolumeAdminMetadata,
    VolumeAttachment,
    VolumeGlanceMetadata,
    VolumeType,
)
from nubes.volume.scheduler import filters
from nubes.volume.service import volume_tasks
from nubes.volume.service.quotas import volume_deltas

VOLUME_STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "error_managing", "managing",
                   "attaching", "in-use", "detaching", "maintenance", "reserved", "error_restoring",
                   "error_extending", "extending", "uploading", "downloading", "retyping", "reverting",
                   "backing-up", "restoring-backup", "awaiting-transfer")
SNAPSHOT_STATUSES = ("creating", "available", "deleting", "error", "error_deleting", "unmanaging", "backing-up",
                     "restoring")
MIGRATION_STATUSES = ("migrating", "error", "success", "completing", "none", "starting")
UPLOAD_FORMATS = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")


class VolumeActions:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.bus = state.bus

    async def _get(self, s: AsyncSession, volume_id: str, see: set[str] | None) -> Volume:
        row = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
        if row is None or (see is not None and row.project_id not in see):
            raise exc.VolumeNotFound(volume_id)
        return row

    @staticmethod
    def _hosted(row: Volume) -> None:
        if not row.host:
            raise exc.InvalidVolume(f"Volume {row.id} is on no backend (it was never created on one).")

    async def _servers(self, s: AsyncSession, volume_id: str) -> list[str]:
        rows = (await s.execute(select(VolumeAttachment.instance_uuid).where(
            VolumeAttachment.volume_id == volume_id, VolumeAttachment.attach_status == "attached"))).scalars()
        return sorted({r for r in rows if r})

    async def _type_name(self, s: AsyncSession, type_id: str | None) -> str | None:
        vt = await s.get(VolumeType, type_id) if type_id else None
        return vt.name if vt else None

    # extend
    async def extend(self, volume_id: str, see: set[str] | None, new_size: int, *, allow_in_use: bool) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            allowed = ("available", "in-use") if allow_in_use else ("available",)
            if row.status not in allowed or row.task:
                raise exc.InvalidVolume(f"Volume {row.id} status must be {' or '.join(allowed)} to extend, but "
                                        f"current status is: {row.status}.")
            if new_size <= row.size:
                raise exc.InvalidInput(f"New size for extend must be greater than current size. (current: "
                                       f"{row.size}, extended: {new_size}).")
            self._hosted(row)
            type_name = await self._type_name(s, row.volume_type_id)
            deltas = {k: v for k, v in volume_deltas(new_size - row.size, type_name).items()
                      if k.startswith("gigabytes")}
            reservations = await self.state.quotas.reserve(s, row.project_id, deltas)
            servers = await self._servers(s, row.id) if row.status == "in-use" else []
            await volume_tasks.set_args(s, row.id, {"new_size": new_size, "reservations": reservations,
                                                    "previous_status": row.status, "servers": servers})
            row.status, row.task = "extending", "extending"
            record = rpc.volume_record(row, await self.state.types.specs(s, row.volume_type_id))
        await self.bus.cast(rpc.manager_topic(rpc.backend_host(row.host)), "extend_volume",
                            {"volume": record, "new_size": new_size, "servers": servers})

    # flags kept in the database only
    async def set_bootable(self, volume_id: str, see: set[str] | None, bootable: bool) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            if row.status not in ("available", "in-use"):
                raise exc.InvalidVolume(f"Volume status must be available or in-use, but current status is: "
                                        f"{row.status}.")
            row.bootable = bootable

    async def set_readonly(self, volume_id: str, see: set[str] | None, readonly: bool) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            if row.status != "available":
                raise exc.InvalidVolume(f"Volume {row.id} status must be available to update readonly flag, "
                                        f"but current status is: {row.status}.")
            found = await s.get(VolumeAdminMetadata, (row.id, "readonly"))
            if found is None:
                s.add(VolumeAdminMetadata(volume_id=row.id, key="readonly", value=str(readonly)))
            else:
                found.value = str(readonly)

    async def reset_status(self, volume_id: str, changes: dict[str, str]) -> None:
        """An admin's reset: the fields as given, and no task left for a reconcile to finish."""
        async with self.db.session() as s:
            row = await self._get(s, volume_id, None)
            if "status" in changes:
                row.status = changes["status"]
            if "attach_status" in changes:
                row.attach_status = changes["attach_status"]
                if changes["attach_status"] == "detached":
                    await s.execute(delete(VolumeAttachment).where(VolumeAttachment.volume_id == row.id))
            if "migration_status" in changes:
                row.migration_status = None if changes["migration_status"] == "none" else changes["migration_status"]
            args = await volume_tasks.clear_args(s, row.id)
            if args.get("reservations"):
                await self.state.quotas.rollback(s, args["reservations"])
            if row.task not in ("creating", "cloning", "downloading", "scheduling", "deleting"):
                row.task = None

    async def reset_snapshot_status(self, snapshot_id: str, status: str) -> None:
        async with self.db.session() as s:
            row = await s.get(Snapshot, snapshot_id) if len(snapshot_id) <= 36 else None
            if row is None:
                raise exc.SnapshotNotFound(snapshot_id)
            row.status = status
            if row.task not in ("creating", "deleting"):
                row.task = None

    # retype
    async def retype(self, volume_id: str, see: set[str] | None, ctx: Any, new_type: str, policy: str) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            if row.status not in ("available", "in-use") or row.task:
                raise exc.InvalidVolume(f"Volume {row.id} status must be available or in-use to retype, but "
                                        f"current status is: {row.status}.")
            vtype = await self.state.types.find(s, new_type, project_id=ctx.project_id, see_all=ctx.is_admin)
            if vtype.id == row.volume_type_id:
                raise exc.InvalidInput(f"New volume_type same as original: {new_type}.")
            specs = await self.state.types.specs(s, vtype.id)
            pool = next((p for p in await self.state.hosts.pools(s) if p["name"] == row.host
                         or p["host"] == rpc.backend_host(row.host or "")), None)
            request = {"size": 0, "availability_zone": None, "extra_specs": specs}
            if pool is None or not filters.capabilities_pass(pool, request):
                raise exc.InvalidInput(
                    f"Retype of volume {row.id} to type {vtype.name} needs a migration to another backend "
                    f"(migration_policy {policy}); volume migration is not supported by this cloud.")
            old = await self._type_name(s, row.volume_type_id)
            snaps = list((await s.execute(select(Snapshot).where(Snapshot.volume_id == row.id))).scalars())
            plus = {k: v for k, v in volume_deltas(row.size, vtype.name).items() if k.endswith(f"_{vtype.name}")}
            for _snap in snaps:
                plus[f"snapshots_{vtype.name}"] = plus.get(f"snapshots_{vtype.name}", 0) + 1
                plus[f"gigabytes_{vtype.name}"] += _snap.volume_size
            reservations = await self.state.quotas.reserve(s, row.project_id, plus)
            await self.state.quotas.commit(s, reservations)
            if old:
                minus = {f"volumes_{old}": 1, f"gigabytes_{old}": row.size + sum(x.volume_size for x in snaps)}
                if snaps:
                    minus[f"snapshots_{old}"] = len(snaps)
                await self.state.quotas.release_now(s, row.project_id, minus)
            row.volume_type_id = vtype.id
            for snap in snaps:
                snap.volume_type_id = vtype.id

    # revert to a snapshot (3.40)
    async def revert(self, volume_id: str, see: set[str] | None, snapshot_id: str) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            snap = await s.get(Snapshot, snapshot_id) if len(snapshot_id) <= 36 else None
            if snap is None or (see is not None and snap.project_id not in see):
                raise exc.SnapshotNotFound(snapshot_id)
            latest = (await s.execute(select(Snapshot).where(Snapshot.volume_id == row.id)
                                      .order_by(Snapshot.created_at.desc(), Snapshot.id.desc()))).scalars().first()
            if latest is None:
                raise exc.BadRequest(f"Volume {row.id} doesn't have any snapshots.")
            if latest.id != snap.id:
                raise exc.BadRequest(f"Specified snapshot {snap.id} is None or not the latest one of volume "
                                     f"{row.id}.")
            if row.size != snap.volume_size:
                raise exc.BadRequest(f"Can't revert volume {row.id} to its latest snapshot {snap.id}. The volume "
                                     "size must be equal to the snapshot size.")
            if row.status != "available" or row.task:
                raise exc.InvalidVolume(f"Volume {row.id} status must be available, but current status is: "
                                        f"{row.status}.")
            if snap.status != "available":
                raise exc.InvalidSnapshot(f"Snapshot {snap.id} status must be available, but current status "
                                          f"is: {snap.status}.")
            self._hosted(row)
            from nubes.volume.service.snapshots import snapshot_record

            record_snap = snapshot_record(snap)
            await volume_tasks.set_args(s, row.id, {"snapshot": record_snap})
            row.status, row.task = "reverting", "reverting"
            snap.status = "restoring"
            record = rpc.volume_record(row, await self.state.types.specs(s, row.volume_type_id))
        await self.bus.cast(rpc.manager_topic(rpc.backend_host(row.host)), "revert_to_snapshot",
                            {"volume": record, "snapshot": record_snap})

    # image metadata
    async def image_metadata(self, volume_id: str, see: set[str] | None) -> dict[str, str]:
        async with self.db.reader() as s:
            row = await self._get(s, volume_id, see)
            return await _glance(s, row.id)

    async def set_image_metadata(self, volume_id: str, see: set[str] | None, metadata: dict[str, str]) -> dict:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            if row.status not in ("available", "in-use"):
                raise exc.InvalidVolume(f"Volume status must be available or in-use, but current status is: "
                                        f"{row.status}.")
            await s.execute(delete(VolumeGlanceMetadata).where(VolumeGlanceMetadata.volume_id == row.id,
                                                               VolumeGlanceMetadata.key.in_(list(metadata))))
            for key, value in metadata.items():
                s.add(VolumeGlanceMetadata(volume_id=row.id, key=key, value=value))
            await s.flush()
            return await _glance(s, row.id)

    async def unset_image_metadata(self, volume_id: str, see: set[str] | None, key: str) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            if row.status not in ("available", "in-use"):
                raise exc.InvalidVolume(f"Volume status must be available or in-use, but current status is: "
                                        f"{row.status}.")
            found = (await s.execute(select(func.count()).select_from(VolumeGlanceMetadata).where(
                VolumeGlanceMetadata.volume_id == row.id, VolumeGlanceMetadata.key == key))).scalar_one()
            if not found:
                raise exc.MetadataNotFound(f"Glance metadata for volume {row.id} with key {key} cannot be found.")
            await s.execute(delete(VolumeGlanceMetadata).where(VolumeGlanceMetadata.volume_id == row.id,
                                                               VolumeGlanceMetadata.key == key))

    # upload to an image
    async def begin_upload(self, volume_id: str, see: set[str] | None, *, force: bool) -> tuple[Volume, dict, str]:
        """Check the volume may be uploaded; returns (row, its image metadata, its type name)."""
        async with self.db.reader() as s:
            row = await self._get(s, volume_id, see)
            allowed = ("available", "in-use") if force else ("available",)
            if row.status not in allowed or row.task:
                raise exc.InvalidVolume(f"Volume {row.id} status must be {' or '.join(allowed)}, but current "
                                        f"status is: {row.status}.")
            self._hosted(row)
            return row, await _glance(s, row.id), await self._type_name(s, row.volume_type_id) or ""

    async def start_upload(self, volume_id: str, image_id: str, disk_format: str, *, force: bool) -> Volume:
        """Mark the volume uploading and cast; raises as begin_upload when it changed meanwhile."""
        async with self.db.session() as s:
            row = await self._get(s, volume_id, None)
            allowed = ("available", "in-use") if force else ("available",)
            if row.status not in allowed or row.task:
                raise exc.InvalidVolume(f"Volume {row.id} status must be {' or '.join(allowed)}, but current "
                                        f"status is: {row.status}.")
            self._hosted(row)
            await volume_tasks.set_args(s, row.id, {"image_id": image_id, "previous_status": row.status})
            row.status, row.task = "uploading", "uploading"
            record = rpc.volume_record(row, await self.state.types.specs(s, row.volume_type_id))
            await s.flush()
        await self.bus.cast(rpc.manager_topic(rpc.backend_host(row.host)), "upload_to_image",
                            {"volume": record, "image_id": image_id, "disk_format": disk_format})
        return row


async def _glance(s: AsyncSession, volume_id: str) -> dict[str, str]:
    rows = (await s.execute(select(VolumeGlanceMetadata).where(VolumeGlanceMetadata.volume_id == volume_id))).scalars()
    return {g.key: g.value for g in rows}
