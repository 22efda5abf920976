"""Snapshots: create (quota reserved and committed with the record, cast to the volume's
manager), list, show, update, metadata, delete. As for volumes, the API layer decided the
policy; ``see`` is the set of projects the caller may see (None: every project)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume import rpc
from nubes.volume.db.models import Snapshot, SnapshotMetadata, Volume, VolumeType

DELETABLE = ("available", "error", "error_deleting")


@dataclass
class SnapshotView:
    row: Snapshot
    metadata: dict[str, str] = field(default_factory=dict)


def snapshot_deltas(size: int, type_name: str | None) -> dict[str, int]:
    """Cinder counts a snapshot against ``snapshots`` and ``gigabytes`` (and their per-type ones)."""
    out = {"snapshots": 1, "gigabytes": size}
    if type_name:
        out[f"snapshots_{type_name}"] = 1
        out[f"gigabytes_{type_name}"] = size
    return out


def snapshot_record(row: Snapshot) -> dict[str, Any]:
    return {"id": row.id, "volume_id": row.volume_id, "volume_size": row.volume_size,
            "provider_location": row.provider_location, "status": row.status, "task": row.task}


class Snapshots:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.bus = state.bus

    async def _get(self, s: AsyncSession, snapshot_id: str, see: set[str] | None) -> Snapshot:
        row = await s.get(Snapshot, snapshot_id) if len(snapshot_id) <= 36 else None
        if row is None or (see is not None and row.project_id not in see):
            raise exc.SnapshotNotFound(snapshot_id)
        return row

    async def owner(self, snapshot_id: str) -> dict[str, Any]:
        async with self.db.reader() as s:
            row = await self._get(s, snapshot_id, None)
            return {"project_id": row.project_id, "user_id": row.user_id}

    async def views(self, s: AsyncSession, rows: list[Snapshot]) -> list[SnapshotView]:
        meta: dict[str, dict[str, str]] = {r.id: {} for r in rows}
        if rows:
            for m in (await s.execute(select(SnapshotMetadata).where(
                    SnapshotMetadata.snapshot_id.in_(list(meta))))).scalars():
                meta[m.snapshot_id][m.key] = m.value
        return [SnapshotView(r, meta[r.id]) for r in rows]

    async def show(self, snapshot_id: str, see: set[str] | None) -> SnapshotView:
        async with self.db.reader() as s:
            return (await self.views(s, [await self._get(s, snapshot_id, see)]))[0]

    async def create(self, ctx: Any, volume_id: str, see: set[str] | None, *, name: str | None,
                     description: str | None, metadata: dict[str, str], force: bool,
                     allow_in_use: bool) -> SnapshotView:
        async with self.db.session() as s:
            volume = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
            if volume is None or (see is not None and volume.project_id not in see):
                raise exc.VolumeNotFound(volume_id)
            if volume.status == "in-use" and not (force or allow_in_use):
                raise exc.InvalidVolume("Volume status must be available or in-use to create a snapshot "
                                        "(in-use needs force=True before microversion 3.66).")
            if volume.status not in ("available", "in-use") or volume.host is None:
                raise exc.InvalidVolume(f"Volume {volume.id} status must be available, but current status "
                                        f"is: {volume.status}.")
            vtype = await s.get(VolumeType, volume.volume_type_id)
            reservations = await self.state.quotas.reserve(
                s, volume.project_id, snapshot_deltas(volume.size, vtype.name if vtype else None))
            row = Snapshot(id=str(uuid.uuid4()), volume_id=volume.id, project_id=volume.project_id,
                           user_id=ctx.user_id or "", name=name, description=description, status="creating",
                           progress="0%", volume_size=volume.size, volume_type_id=volume.volume_type_id,
                           use_quota=True, task="creating")
            s.add(row)
            await s.flush()
            for key, value in metadata.items():
                s.add(SnapshotMetadata(snapshot_id=row.id, key=key, value=value))
            await self.state.quotas.commit(s, reservations)
            await s.flush()
            view = (await self.views(s, [row]))[0]
            specs = await self.state.types.specs(s, volume.volume_type_id)
            payload = {"snapshot": snapshot_record(row), "volume": rpc.volume_record(volume, specs)}
            host = volume.host
        await self.bus.cast(rpc.manager_topic(rpc.backend_host(host)), "create_snapshot", payload)
        return view

    async def list(self, see: set[str] | None, *, filters: dict[str, Any], metadata: dict[str, str],
                   sort: list[tuple[str, str]], limit: int | None, marker: str | None) -> list[SnapshotView]:
        stmt = select(Snapshot)
        if see is not None:
            stmt = stmt.where(Snapshot.project_id.in_(see))
        for key, value in filters.items():
            stmt = stmt.where(getattr(Snapshot, key) == value)
        for key, value in metadata.items():
            stmt = stmt.where(Snapshot.id.in_(select(SnapshotMetadata.snapshot_id).where(
                SnapshotMetadata.key == key, SnapshotMetadata.value == value)))
        order = [getattr(Snapshot, k).desc() if d == "desc" else getattr(Snapshot, k).asc() for k, d in sort]
        order.append(Snapshot.id.desc() if sort and sort[-1][1] == "desc" else Snapshot.id.asc())
        async with self.db.reader() as s:
            rows = list((await s.execute(stmt.order_by(*order))).scalars())
            if marker is not None:
                at = next((i for i, r in enumerate(rows) if r.id == marker), None)
                if at is None:
                    raise exc.NotFound(f"Marker {marker} could not be found.")
                rows = rows[at + 1:]
            if limit is not None:
                rows = rows[:limit]
            return await self.views(s, rows)

    async def update(self, snapshot_id: str, see: set[str] | None, changes: dict[str, Any]) -> SnapshotView:
        async with self.db.session() as s:
            row = await self._get(s, snapshot_id, see)
            for key, value in changes.items():
                setattr(row, key, value)
            await s.flush()
            return (await self.views(s, [row]))[0]

    async def set_metadata(self, snapshot_id: str, see: set[str] | None, metadata: dict[str, str], *,
                           replace: bool) -> dict[str, str]:
        async with self.db.session() as s:
            row = await self._get(s, snapshot_id, see)
            if replace:
                await s.execute(delete(SnapshotMetadata).where(SnapshotMetadata.snapshot_id == row.id))
                await s.flush()
            for key, value in metadata.items():
                found = None if replace else await s.get(SnapshotMetadata, (row.id, key))
                if found is None:
                    s.add(SnapshotMetadata(snapshot_id=row.id, key=key, value=value))
                else:
                    found.value = value
            await s.flush()
            return (await self.views(s, [row]))[0].metadata

    async def delete_metadata_item(self, snapshot_id: str, see: set[str] | None, key: str) -> None:
        async with self.db.session() as s:
            row = await self._get(s, snapshot_id, see)
            found = await s.get(SnapshotMetadata, (row.id, key))
            if found is None:
                raise exc.MetadataNotFound(f"Snapshot {row.id} has no metadata with key {key}.")
            await s.delete(found)

    async def delete(self, snapshot_id: str, see: set[str] | None) -> None:
        async with self.db.session() as s:
            row = await self._get(s, snapshot_id, see)
            if row.task == "deleting":
                return
            if row.status not in DELETABLE:
                raise exc.InvalidSnapshot(f"Snapshot status must be available or error and must not be part "
                                          f"of a group, not {row.status}.")
            row.status, row.task = "deleting", "deleting"
            volume = await s.get(Volume, row.volume_id)
            payload = {"snapshot": snapshot_record(row),
                       "volume": rpc.volume_record(volume, {}) if volume else {"id": row.volume_id}}
            host = volume.host if volume is not None else None
        if host is None:
            await self.bus.cast(rpc.WORKER_TOPIC, "snapshot_deleted", {"snapshot_id": snapshot_id, "host": None})
        else:
            await self.bus.cast(rpc.manager_topic(rpc.backend_host(host)), "delete_snapshot", payload)

    async def count_of_volume(self, s: AsyncSession, volume_id: str) -> int:
        return (await s.execute(select(func.count()).select_from(Snapshot).where(
            Snapshot.volume_id == volume_id))).scalar_one()
