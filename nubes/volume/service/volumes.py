"""Volumes: create (reserve quota, write the record, cast to the scheduler), list, show, update,
metadata and delete (cast to the volume's manager). The API layer has made every policy
decision; ``see`` below is the set of projects the caller may see (None: every project)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
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
    VolumeMetadata,
    VolumeType,
)
from nubes.volume.service.quotas import volume_deltas
from nubes.volume.service.snapshots import snapshot_record

DELETABLE = ("available", "error", "error_restoring", "error_extending", "error_managing")


@dataclass
class VolumeView:
    """A volume with what its views need (metadata, type, attachments, image metadata)."""

    row: Volume
    metadata: dict[str, str] = field(default_factory=dict)
    type_name: str | None = None
    image_metadata: dict[str, str] = field(default_factory=dict)
    attachments: list[VolumeAttachment] = field(default_factory=list)


@dataclass
class CreateRequest:
    size: int
    name: str | None = None
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    volume_type: str | None = None
    availability_zone: str | None = None
    multiattach: bool = False
    snapshot_id: str | None = None
    source_volid: str | None = None
    image: dict[str, Any] | None = None         # the image's record, as the caller may see it
    backup_id: str | None = None


class Volumes:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.conf = state.conf
        self.bus = state.bus

    # reading
    async def _get(self, s: AsyncSession, volume_id: str, see: set[str] | None) -> Volume:
        row = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
        if row is None or (see is not None and row.project_id not in see):
            raise exc.VolumeNotFound(volume_id)
        return row

    async def owner(self, volume_id: str) -> dict[str, Any]:
        """The policy target of a volume (404 for one that does not exist)."""
        async with self.db.reader() as s:
            row = await self._get(s, volume_id, None)
            return {"project_id": row.project_id, "user_id": row.user_id}

    async def views(self, s: AsyncSession, rows: list[Volume]) -> list[VolumeView]:
        ids = [r.id for r in rows]
        if not ids:
            return []
        meta: dict[str, dict[str, str]] = {i: {} for i in ids}
        for m in (await s.execute(select(VolumeMetadata).where(VolumeMetadata.volume_id.in_(ids)))).scalars():
            meta[m.volume_id][m.key] = m.value
        # Cinder shows these admin metadata in a volume's metadata (its visible admin metadata)
        for m in (await s.execute(select(VolumeAdminMetadata).where(
                VolumeAdminMetadata.volume_id.in_(ids), VolumeAdminMetadata.key.in_(("readonly", "attached_mode"))))).scalars():
            meta[m.volume_id][m.key] = m.value
        image: dict[str, dict[str, str]] = {i: {} for i in ids}
        for g in (await s.execute(select(VolumeGlanceMetadata).where(
                VolumeGlanceMetadata.volume_id.in_(ids)))).scalars():
            image[g.volume_id][g.key] = g.value
        atts: dict[str, list[VolumeAttachment]] = {i: [] for i in ids}
        for a in (await s.execute(select(VolumeAttachment).where(VolumeAttachment.volume_id.in_(ids)))).scalars():
            atts[a.volume_id].append(a)
        type_ids = {r.volume_type_id for r in rows}
        names = dict((await s.execute(select(VolumeType.id, VolumeType.name).where(
            VolumeType.id.in_(type_ids)))).all())
        return [VolumeView(r, meta[r.id], names.get(r.volume_type_id), image[r.id], atts[r.id]) for r in rows]

    async def show(self, volume_id: str, see: set[str] | None) -> VolumeView:
        async with self.db.reader() as s:
            row = await self._get(s, volume_id, see)
            return (await self.views(s, [row]))[0]

    # creating
    async def create(self, ctx: Any, req: CreateRequest) -> VolumeView:
        from nubes.volume.service import volume_sources, volume_tasks

        types = self.state.types
        zones = await self.state.hosts.zones()
        az = req.availability_zone or self.conf.default_availability_zone
        if req.availability_zone and req.availability_zone not in zones:
            raise exc.InvalidAvailabilityZone(req.availability_zone)
        if not req.availability_zone and zones and az not in zones:
            az = sorted(zones)[0]
        async with self.db.session() as s:
            src = await volume_sources.resolve(s, req, None if ctx.is_admin else {ctx.project_id or ""})
            if src is not None:
                az = volume_sources.check_zone(src, req.availability_zone) or az
                req.size = max(req.size or 0, src.size)
            if req.volume_type:
                vtype = await types.find(s, req.volume_type, project_id=ctx.project_id,
                                         see_all=ctx.is_admin)
            elif src is not None and src.volume_type_id and await s.get(VolumeType, src.volume_type_id):
                vtype = await s.get(VolumeType, src.volume_type_id)
            else:
                vtype = await types.default_for(s, ctx.project_id)
            if src is not None:
                await volume_sources.check_type(s, src, vtype, req.volume_type)
            specs = await types.specs(s, vtype.id)
            multiattach = req.multiattach or specs.get("multiattach", "").lower() in ("<is> true", "true")
            row = Volume(id=str(uuid.uuid4()), project_id=ctx.project_id, user_id=ctx.user_id or "",
                         name=req.name, description=req.description, size=req.size, status="creating",
                         availability_zone=az, volume_type_id=vtype.id, multiattach=multiattach,
                         task="scheduling")
            if src is not None:
                row.snapshot_id, row.source_volid, row.bootable = src.snapshot_id, src.source_volid, src.bootable
            reservations = await self.state.quotas.reserve(s, ctx.project_id,
                                                           volume_deltas(req.size, vtype.name))
            s.add(row)
            await s.flush()
            for key, value in req.metadata.items():
                s.add(VolumeMetadata(volume_id=row.id, key=key, value=value))
            if src is not None:
                for key, value in src.image_metadata.items():
                    s.add(VolumeGlanceMetadata(volume_id=row.id, key=key, value=value))
                if src.image_id:
                    await volume_tasks.set_args(s, row.id, {"image_id": src.image_id})
                if src.backup_id:
                    await volume_tasks.set_args(s, row.id, {"backup_id": src.backup_id})
            # Cinder commits as soon as the record exists: a volume counts from then on, also in
            # error, until it is deleted. Over quota, nothing of this transaction is written.
            await self.state.quotas.commit(s, reservations)
            await s.flush()
            view = (await self.views(s, [row]))[0]
        await self.bus.cast(rpc.SCHEDULER_TOPIC, "create_volume", {
            "volume_id": row.id, "request_id": ctx.request_id})
        return view

    # listing
    async def list(self, see: set[str] | None, *, filters: dict[str, Any], metadata: dict[str, str],
                   like: set[str], times: list[tuple[str, str, Any]], sort: list[tuple[str, str]],
                   limit: int | None, marker: str | None, with_count: bool) -> tuple[list[VolumeView], int | None]:
        stmt = select(Volume)
        if see is not None:
            stmt = stmt.where(Volume.project_id.in_(see))
        for key, value in filters.items():
            column = getattr(Volume, key)
            if key in like:
                stmt = stmt.where(column.like(f"%{value}%"))
            elif isinstance(value, list):
                stmt = stmt.where(column.in_(value))
            else:
                stmt = stmt.where(column == value)
        for key, value in metadata.items():
            stmt = stmt.where(Volume.id.in_(select(VolumeMetadata.volume_id).where(
                VolumeMetadata.key == key, VolumeMetadata.value == value)))
        ops = {"gt": "__gt__", "gte": "__ge__", "lt": "__lt__", "lte": "__le__", "eq": "__eq__", "neq": "__ne__"}
        for key, op, when in times:
            stmt = stmt.where(getattr(getattr(Volume, key), ops[op])(when))
        async with self.db.reader() as s:
            count = None
            if with_count:
                count = (await s.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
            order = []
            for key, direction in sort:
                column = getattr(Volume, key)
                order.append(column.desc() if direction == "desc" else column.asc())
            order.append(Volume.id.desc() if (sort and sort[-1][1] == "desc") else Volume.id.asc())
            rows = list((await s.execute(stmt.order_by(*order))).scalars())
            if marker is not None:
                at = next((i for i, r in enumerate(rows) if r.id == marker), None)
                if at is None:
                    raise exc.NotFound(f"Marker {marker} could not be found.")
                rows = rows[at + 1:]
            if limit is not None:
                rows = rows[:limit]
            return await self.views(s, rows), count

    async def summary(self, see: set[str] | None) -> tuple[int, int, dict[str, list[str]]]:
        async with self.db.reader() as s:
            stmt = select(func.count(), func.coalesce(func.sum(Volume.size), 0))
            meta_stmt = select(VolumeMetadata.key, VolumeMetadata.value).join(
                Volume, Volume.id == VolumeMetadata.volume_id)
            if see is not None:
                stmt = stmt.where(Volume.project_id.in_(see))
                meta_stmt = meta_stmt.where(Volume.project_id.in_(see))
            count, total = (await s.execute(stmt)).one()
            meta: dict[str, list[str]] = {}
            for key, value in (await s.execute(meta_stmt)).all():
                if value not in meta.setdefault(key, []):
                    meta[key].append(value)
            return int(count), int(total), meta

    # changing
    async def update(self, volume_id: str, see: set[str] | None, changes: dict[str, Any]) -> VolumeView:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            for key in ("name", "description"):
                if key in changes:
                    setattr(row, key, changes[key])
            if "metadata" in changes:
                await self._replace_metadata(s, row.id, changes["metadata"])
            await s.flush()
            return (await self.views(s, [row]))[0]

    async def _replace_metadata(self, s: AsyncSession, volume_id: str, metadata: dict[str, str]) -> None:
        await s.execute(delete(VolumeMetadata).where(VolumeMetadata.volume_id == volume_id))
        for key, value in metadata.items():
            s.add(VolumeMetadata(volume_id=volume_id, key=key, value=value))

    async def metadata(self, volume_id: str, see: set[str] | None) -> dict[str, str]:
        return (await self.show(volume_id, see)).metadata

    async def set_metadata(self, volume_id: str, see: set[str] | None, metadata: dict[str, str], *,
                           replace: bool) -> dict[str, str]:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            _check_mutable(row)
            if replace:
                await self._replace_metadata(s, row.id, metadata)
            else:
                for key, value in metadata.items():
                    found = await s.get(VolumeMetadata, (row.id, key))
                    if found is None:
                        s.add(VolumeMetadata(volume_id=row.id, key=key, value=value))
                    else:
                        found.value = value
            await s.flush()
            rows = (await s.execute(select(VolumeMetadata).where(VolumeMetadata.volume_id == row.id))).scalars()
            return {m.key: m.value for m in rows}

    async def delete_metadata_item(self, volume_id: str, see: set[str] | None, key: str) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            _check_mutable(row)
            found = await s.get(VolumeMetadata, (row.id, key))
            if found is None:
                raise exc.MetadataNotFound(f"Volume {row.id} has no metadata with key {key}.")
            await s.delete(found)

    async def delete(self, volume_id: str, see: set[str] | None, *, cascade: bool, force: bool) -> None:
        async with self.db.session() as s:
            row = await self._get(s, volume_id, see)
            if row.status == "deleting" and row.task == "deleting":
                return          # already under way: asking again changes nothing
            attached = (await s.execute(select(func.count()).select_from(VolumeAttachment).where(
                VolumeAttachment.volume_id == row.id))).scalar_one()
            if not force:
                if row.status not in DELETABLE or attached or row.attach_status == "attached":
                    raise exc.InvalidVolume(
                        "Volume status must be available or error or error_restoring or error_extending "
                        "or error_managing and must not be migrating, attached, belong to a group, have "
                        "snapshots, awaiting a transfer, or be disassociated from snapshots after volume "
                        "transfer.")
                if row.migration_status not in (None, "", "success", "error"):
                    raise exc.InvalidVolume("Volume cannot be deleted while migrating")
            elif attached:
                raise exc.InvalidVolume("Volume must not be attached to be force deleted.")
            snaps = list((await s.execute(select(Snapshot).where(Snapshot.volume_id == row.id))).scalars())
            if snaps and not cascade:
                raise exc.InvalidVolume("Volume has snapshots; delete them first or ask for a cascade "
                                        "delete (cascade=True).")
            if any(snap.status not in ("available", "error", "error_deleting") and snap.task != "deleting"
                   for snap in snaps):
                raise exc.InvalidVolume("Snapshot of the volume must be available or error to be deleted "
                                        "with the volume.")
            for snap in snaps:
                snap.status, snap.task = "deleting", "deleting"
            snapshot_records = [snapshot_record(snap) for snap in snaps]
            row.status, row.task = "deleting", "deleting"
            host = row.host
            record = rpc.volume_record(row, {})
        if host is None:
            for snap in snapshot_records:
                await self.bus.cast(rpc.WORKER_TOPIC, "snapshot_deleted", {"snapshot_id": snap["id"], "host": None})
            # never reached a backend: the worker finishes it here (quota, record)
            await self.bus.cast(rpc.WORKER_TOPIC, "volume_deleted", {"volume_id": volume_id, "host": None})
        else:
            await self.bus.cast(rpc.manager_topic(rpc.backend_host(host)), "delete_volume",
                                {"volume": record, "snapshots": snapshot_records})


def _check_mutable(row: Volume) -> None:
    if row.status in ("deleting", "maintenance"):
        raise exc.InvalidVolume(f"Volume status must be available or in-use, not {row.status}.")
