"""Volume transfers between projects: a request (the volume ``awaiting-transfer``, an auth key
shown once), and its acceptance by another project, which moves the volume (and, unless
``no_snapshots``, its snapshots) with their quota usage in one transaction: the receiver's
quota is checked and charged, the giver's freed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.volume import exceptions as exc
from nubes.volume.db.models import Snapshot, Transfer, Volume, VolumeType
from nubes.volume.service.quotas import volume_deltas
from nubes.volume.service.snapshots import snapshot_deltas


def _hash(salt: str, key: str) -> str:
    return hashlib.sha256(f"{salt}{key}".encode()).hexdigest()


def _add(total: dict[str, int], deltas: dict[str, int]) -> None:
    for key, value in deltas.items():
        total[key] = total.get(key, 0) + value


class Transfers:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db

    async def _get(self, s: AsyncSession, transfer_id: str, see: set[str] | None) -> Transfer:
        row = await s.get(Transfer, transfer_id) if len(transfer_id) <= 36 else None
        if row is None or (see is not None and row.source_project_id not in see):
            raise exc.TransferNotFound(transfer_id)
        return row

    async def create(self, volume_id: str, see: set[str] | None, *, name: str | None,
                     no_snapshots: bool) -> tuple[Transfer, str]:
        """The transfer and its auth key (never stored: only its salted hash is)."""
        async with self.db.session() as s:
            volume = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
            if volume is None or (see is not None and volume.project_id not in see):
                raise exc.VolumeNotFound(volume_id)
            if volume.status != "available":
                raise exc.InvalidVolume("status must be available")
            if not no_snapshots:
                for snap in (await s.execute(select(Snapshot).where(Snapshot.volume_id == volume.id))).scalars():
                    if snap.status != "available":
                        raise exc.InvalidSnapshot(f"snapshot: {snap.id} status must be available")
            key, salt = secrets.token_hex(8), secrets.token_hex(8)
            row = Transfer(id=str(uuid.uuid4()), volume_id=volume.id, name=name, salt=salt,
                           crypt_hash=_hash(salt, key), source_project_id=volume.project_id,
                           no_snapshots=no_snapshots)
            s.add(row)
            volume.status = "awaiting-transfer"
            await s.flush()
            return row, key

    async def show(self, transfer_id: str, see: set[str] | None) -> Transfer:
        async with self.db.reader() as s:
            return await self._get(s, transfer_id, see)

    async def list(self, see: set[str] | None, *, filters: dict[str, Any], sort: list[tuple[str, str]],
                   limit: int | None, marker: str | None) -> list[Transfer]:
        stmt = select(Transfer)
        if see is not None:
            stmt = stmt.where(Transfer.source_project_id.in_(see))
        for key, value in filters.items():
            stmt = stmt.where(getattr(Transfer, key) == value)
        order = [getattr(Transfer, k).desc() if d == "desc" else getattr(Transfer, k).asc() for k, d in sort]
        order.append(Transfer.id.desc() if sort and sort[-1][1] == "desc" else Transfer.id.asc())
        async with self.db.reader() as s:
            rows = list((await s.execute(stmt.order_by(*order))).scalars())
        if marker is not None:
            at = next((i for i, r in enumerate(rows) if r.id == marker), None)
            if at is None:
                raise exc.NotFound(f"Marker {marker} could not be found.")
            rows = rows[at + 1:]
        return rows[:limit] if limit is not None else rows

    async def delete(self, transfer_id: str, see: set[str] | None) -> None:
        async with self.db.session() as s:
            row = await self._get(s, transfer_id, see)
            volume = await s.get(Volume, row.volume_id)
            if volume is not None and volume.status == "awaiting-transfer":
                volume.status = "available"
            await s.delete(row)

    async def accept(self, ctx: Any, transfer_id: str, auth_key: str) -> Transfer:
        async with self.db.session() as s:
            row = await self._get(s, transfer_id, None)
            if not hmac.compare_digest(_hash(row.salt, auth_key), row.crypt_hash):
                raise exc.InvalidAuthKey(f"Attempt to transfer {transfer_id} with invalid auth key.")
            volume = await s.get(Volume, row.volume_id)
            if volume is None or volume.status != "awaiting-transfer":
                raise exc.InvalidVolume("status must be awaiting-transfer")
            giver, receiver = volume.project_id, ctx.project_id or ""
            vtype = await s.get(VolumeType, volume.volume_type_id)
            type_name = vtype.name if vtype else None
            snaps = [] if row.no_snapshots else list((await s.execute(
                select(Snapshot).where(Snapshot.volume_id == volume.id))).scalars())
            charged: dict[str, int] = {}
            freed: dict[str, int] = {}
            if volume.use_quota:
                _add(charged, volume_deltas(volume.size, type_name))
            for snap in snaps:
                if snap.use_quota:
                    snap_type = await s.get(VolumeType, snap.volume_type_id) if snap.volume_type_id else None
                    _add(charged, snapshot_deltas(snap.volume_size, snap_type.name if snap_type else None))
            _add(freed, charged)
            reservations = await self.state.quotas.reserve(s, receiver, charged)   # 413: nothing changes
            await self.state.quotas.commit(s, reservations)
            await self.state.quotas.release_now(s, giver, freed)
            volume.project_id, volume.user_id, volume.status = receiver, ctx.user_id or "", "available"
            for snap in snaps:
                snap.project_id, snap.user_id = receiver, ctx.user_id or ""
            row.destination_project_id, row.accepted = receiver, True
            await s.flush()
            accepted = Transfer(id=row.id, volume_id=row.volume_id, name=row.name, salt="", crypt_hash="",
                                source_project_id=row.source_project_id, destination_project_id=receiver,
                                accepted=True, no_snapshots=row.no_snapshots, created_at=row.created_at)
            await s.delete(row)
            return accepted
