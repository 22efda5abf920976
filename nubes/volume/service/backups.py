"""Backups: create (full or incremental, of a volume or of one of its snapshots; quota reserved and
committed with the record; the volume, or the snapshot, ``backing-up``), list, show, update, delete, restore (to an existing available volume or
a new one), reset status, export and import of records. The API layer decided the policy; ``see``
is the set of projects the caller may see (None: every project).

A new backup's record names its store (``service``) from ``[volume] backup_store``; one kept in
object storage also names its account (``service_metadata``: ``AUTH_<project id>``, the volume's
project's). An incremental is kept where its parent is, so a chain never spans stores."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import time
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.db.base import utcnow
from nubes.volume import exceptions as exc
from nubes.volume import rpc
from nubes.volume.backup.object_store import project_account
from nubes.volume.backup.reports import backup_deltas, finish_delete
from nubes.volume.backup.store import CONTAINER_RE, DEFAULT_CONTAINER, SERVICES, store_kind
from nubes.volume.conf import backup_store
from nubes.volume.db.models import Backup, Service, Snapshot, Volume
from nubes.volume.service.snapshots import snapshot_record

RESTORE_WAIT = 300.0        # seconds a restore waits for the new volume it asked for
ACCOUNT_RE = re.compile(r"^AUTH_[A-Za-z0-9_-]{1,250}$")


def worker_record(row: Backup, parent: Backup | None = None) -> dict[str, Any]:
    """What the backup worker is told of a backup: which store, and where in it."""
    return {"id": row.id, "volume_id": row.volume_id, "store": store_kind(row.service),
            "container": row.container, "account": row.service_metadata, "checksum": row.checksum,
            "parent_id": parent.id if parent else None,
            "parent_container": parent.container if parent else None,
            "parent_account": parent.service_metadata if parent else None}


class Backups:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db
        self.bus = state.bus

    async def _get(self, s: AsyncSession, backup_id: str, see: set[str] | None) -> Backup:
        row = await s.get(Backup, backup_id) if len(backup_id) <= 36 else None
        if row is None or (see is not None and row.project_id not in see):
            raise exc.BackupNotFound(backup_id)
        return row

    async def owner(self, backup_id: str) -> dict[str, Any]:
        async with self.db.reader() as s:
            row = await self._get(s, backup_id, None)
            return {"project_id": row.project_id, "user_id": row.user_id}

    async def show(self, backup_id: str, see: set[str] | None) -> Backup:
        async with self.db.reader() as s:
            return await self._get(s, backup_id, see)

    async def new_store(self) -> str:
        """Where a new full backup goes: ``[volume] backup_store``, "auto" deciding by the catalog."""
        choice = backup_store(self.state.conf)
        if choice != "auto":
            return choice
        clients = getattr(self.state.rt, "clients", None)
        return "object" if clients is not None and await clients.has("object-store") else "directory"

    async def backup_host_up(self, s: AsyncSession, host: str) -> bool:
        svc = (await s.execute(select(Service).where(Service.host == host,
                                                     Service.binary == rpc.BACKUP_BINARY))).scalars().first()
        return svc is not None and not svc.disabled and self.state.hosts.is_up(svc)

    async def create(self, ctx: Any, volume_id: str, see: set[str] | None, *, name: str | None,
                     description: str | None, container: str | None, incremental: bool, force: bool,
                     metadata: dict[str, str], availability_zone: str | None,
                     snapshot_id: str | None = None) -> Backup:
        container = container or DEFAULT_CONTAINER
        if not CONTAINER_RE.match(container):
            raise exc.InvalidInput(f"Invalid container name {container!r}: letters, digits, '_', '.' and '-' "
                                   "only, not starting with '.' or '-'.")
        fresh_store = None if incremental else await self.new_store()     # (no HTTP inside the transaction)
        async with self.db.session() as s:
            volume = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
            if volume is None or (see is not None and volume.project_id not in see):
                raise exc.VolumeNotFound(volume_id)
            snapshot = await self._snapshot(s, snapshot_id, volume, see) if snapshot_id else None
            if snapshot is None:
                if volume.status not in ("available", "in-use"):
                    raise exc.InvalidVolume(f'Volume to be backed up must be available or in-use, but the '
                                            f'current status is "{volume.status}".')
                if volume.status == "in-use" and not force:
                    raise exc.InvalidVolume("Backing up an in-use volume must use the force flag.")
            if availability_zone and availability_zone != volume.availability_zone:
                raise exc.InvalidInput(f"Backup availability zone {availability_zone} is not the volume's "
                                       f"({volume.availability_zone}).")
            host = rpc.backend_host(volume.host or "")
            if not volume.host or not await self.backup_host_up(s, host):
                raise exc.ServiceNotFound("cinder-backup")
            parent = await self._parent(s, volume, snapshot) if incremental else None
            kind = store_kind(parent.service) if parent is not None else fresh_store
            size = snapshot.volume_size if snapshot is not None else volume.size
            reservations = await self.state.quotas.reserve(s, volume.project_id, backup_deltas(size))
            row = Backup(id=str(uuid.uuid4()), project_id=volume.project_id, user_id=ctx.user_id or "",
                         volume_id=volume.id, snapshot_id=snapshot.id if snapshot else None, name=name,
                         description=description, status="creating", size=size, container=container,
                         availability_zone=volume.availability_zone, host=host, service=SERVICES[kind],
                         service_metadata=project_account(volume.project_id) if kind == "object" else None,
                         is_incremental=parent is not None, parent_id=parent.id if parent else None,
                         data_timestamp=snapshot.created_at if snapshot is not None else utcnow(),
                         metadata_=dict(metadata))
            s.add(row)
            if parent is not None:
                parent.num_dependent_backups += 1
            # As Cinder: a snapshot being backed up is ``backing-up`` and its volume keeps its status;
            # a volume being backed up is ``backing-up`` (an in-use one is read at a temporary snapshot).
            payload: dict[str, Any] = {"backup": worker_record(row, parent), "volume": rpc.volume_record(
                volume, await self.state.types.specs(s, volume.volume_type_id))}
            if snapshot is not None:
                snapshot.status = "backing-up"
                payload["snapshot"] = snapshot_record(snapshot)
            else:
                payload["in_use"] = volume.status == "in-use"
                volume.status = "backing-up"
            await s.flush()
            await self.state.quotas.commit(s, reservations)
        await self.bus.cast(rpc.backup_topic(host), "create_backup", payload)
        return row

    async def _snapshot(self, s: AsyncSession, snapshot_id: str, volume: Volume, see: set[str] | None) -> Snapshot:
        snapshot = await s.get(Snapshot, snapshot_id) if len(snapshot_id) <= 36 else None
        if snapshot is None or (see is not None and snapshot.project_id not in see):
            raise exc.SnapshotNotFound(snapshot_id)
        if snapshot.volume_id != volume.id:
            raise exc.InvalidVolume(f"Volume {volume.id} does not match with snapshot.volume_id "
                                    f"{snapshot.volume_id}.")
        if snapshot.status != "available":
            raise exc.InvalidSnapshot(f'Snapshot to be backed up must be available, but the current status is '
                                      f'"{snapshot.status}".')
        return snapshot

    async def _parent(self, s: AsyncSession, volume: Volume, snapshot: Snapshot | None) -> Backup:
        """The newest available backup of the volume; for a snapshot, the newest whose data is
        older than the snapshot (a backup taken after the snapshot holds data it does not)."""
        stmt = select(Backup).where(Backup.volume_id == volume.id, Backup.status == "available")
        if snapshot is not None:
            stmt = stmt.where(Backup.data_timestamp < snapshot.created_at)
        parent = (await s.execute(stmt.order_by(Backup.data_timestamp.desc(),
                                                Backup.created_at.desc()))).scalars().first()
        if parent is None:
            raise exc.InvalidBackup("No backups available to do an incremental backup.")
        return parent

    async def list(self, see: set[str] | None, *, filters: dict[str, Any], sort: list[tuple[str, str]],
                   limit: int | None, marker: str | None) -> list[Backup]:
        stmt = select(Backup)
        if see is not None:
            stmt = stmt.where(Backup.project_id.in_(see))
        for key, value in filters.items():
            stmt = stmt.where(getattr(Backup, key) == value)
        order = [getattr(Backup, k).desc() if d == "desc" else getattr(Backup, k).asc() for k, d in sort]
        order.append(Backup.id.desc() if sort and sort[-1][1] == "desc" else Backup.id.asc())
        async with self.db.reader() as s:
            rows = list((await s.execute(stmt.order_by(*order))).scalars())
        if marker is not None:
            at = next((i for i, r in enumerate(rows) if r.id == marker), None)
            if at is None:
                raise exc.NotFound(f"Marker {marker} could not be found.")
            rows = rows[at + 1:]
        return rows[:limit] if limit is not None else rows

    async def update(self, backup_id: str, see: set[str] | None, changes: dict[str, Any]) -> Backup:
        async with self.db.session() as s:
            row = await self._get(s, backup_id, see)
            for key, value in changes.items():
                if key == "metadata":
                    row.metadata_ = dict(value)
                else:
                    setattr(row, key, value)
            await s.flush()
            return row

    async def delete(self, backup_id: str, see: set[str] | None, *, force: bool) -> None:
        async with self.db.session() as s:
            row = await self._get(s, backup_id, see)
            if row.status == "deleting":
                return
            allowed = ("available", "error", "error_deleting") if force else ("available", "error")
            if row.status not in allowed:
                raise exc.InvalidBackup("Backup status must be available or error")
            if row.num_dependent_backups > 0:
                raise exc.InvalidBackup("Incremental backups exist for this backup.")
            if row.host is None:
                await finish_delete(self.state, s, row)
                return
            row.status = "deleting"
            host, record = row.host, worker_record(row)
        await self.bus.cast(rpc.backup_topic(host), "delete_backup", {"backup": record})

    async def reset_status(self, backup_id: str, status: str) -> None:
        async with self.db.session() as s:
            row = await self._get(s, backup_id, None)
            row.status = status

    async def restore(self, ctx: Any, backup_id: str, see: set[str] | None, *, volume_id: str | None,
                      name: str | None) -> tuple[Backup, Volume]:
        async with self.db.reader() as s:
            row = await self._get(s, backup_id, see)
            if row.status != "available":
                raise exc.InvalidBackup("Backup status must be available")
        if volume_id is None:
            volume_id = await self._new_volume(ctx, row, name)
        async with self.db.session() as s:
            row = await self._get(s, backup_id, see)
            if row.status != "available":
                raise exc.InvalidBackup("Backup status must be available")
            volume = await s.get(Volume, volume_id) if len(volume_id) <= 36 else None
            if volume is None or (see is not None and volume.project_id not in see):
                raise exc.VolumeNotFound(volume_id)
            if volume.status != "available":
                raise exc.InvalidVolume("Volume to be restored to must be available")
            if volume.size < row.size:
                raise exc.InvalidVolume(f"volume size {volume.size} is too small to restore backup of size "
                                        f"{row.size}.")
            host = rpc.backend_host(volume.host or "")
            if not volume.host or not await self.backup_host_up(s, host):
                raise exc.ServiceNotFound("cinder-backup")
            row.status, row.restore_volume_id, row.fail_reason = "restoring", volume.id, None
            volume.status = "restoring-backup"
            payload = {"backup": worker_record(row), "volume": rpc.volume_record(
                volume, await self.state.types.specs(s, volume.volume_type_id))}
            out = (row, volume)
        await self.bus.cast(rpc.backup_topic(host), "restore_backup", payload)
        return out

    async def _new_volume(self, ctx: Any, backup: Backup, name: str | None) -> str:
        """As Cinder: a volume of the backup's size, waited for while it is being created."""
        from nubes.volume.service.volumes import CreateRequest

        view = await self.state.volumes.create(ctx, CreateRequest(
            size=backup.size, name=name or f"restore_backup_{backup.id}",
            description="auto-created_from_restore_from_backup", availability_zone=backup.availability_zone))
        deadline = time.monotonic() + RESTORE_WAIT
        while True:
            async with self.db.reader() as s:
                volume = await s.get(Volume, view.row.id)
                status = volume.status if volume else "deleted"
            if status != "creating" or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        if status != "available":
            raise exc.InvalidVolume(f"Error while creating volume {view.row.id} for restoring backup {backup.id}.")
        return view.row.id

    def export_record(self, row: Backup) -> dict[str, str]:
        if row.status != "available":
            raise exc.InvalidBackup("Backup status must be available and not restoring.")
        fields = {"id": row.id, "volume_id": row.volume_id, "name": row.name, "description": row.description,
                  "size": row.size, "container": row.container, "availability_zone": row.availability_zone,
                  "is_incremental": row.is_incremental, "parent_id": row.parent_id, "checksum": row.checksum,
                  "object_count": row.object_count, "metadata": row.metadata_, "service": row.service,
                  "account": row.service_metadata,
                  "data_timestamp": row.data_timestamp.isoformat() if row.data_timestamp else None}
        url = base64.b64encode(json.dumps(fields).encode()).decode()
        return {"backup_service": row.service or SERVICES["directory"], "backup_url": url}

    async def import_record(self, ctx: Any, backup_service: str, backup_url: str) -> Backup:
        if backup_service not in SERVICES.values():
            raise exc.InvalidInput(f"Unsupported backup service {backup_service}: this cloud has "
                                   f"{', '.join(SERVICES.values())}.")
        kind = store_kind(backup_service)
        try:
            fields = json.loads(base64.b64decode(backup_url, validate=True))
            if not isinstance(fields, dict):
                raise ValueError
            backup_id, container = str(fields["id"]), str(fields["container"])
            account = str(fields["account"]) if kind == "object" else None
            size = int(fields["size"])
            uuid.UUID(backup_id)
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise exc.InvalidInput("Can't parse backup record.") from None
        if not CONTAINER_RE.match(container) or size < 1 or not ACCOUNT_RE.match(account or "AUTH_x"):
            raise exc.InvalidInput("Can't parse backup record.")
        async with self.db.reader() as s:
            if await s.get(Backup, backup_id) is not None:
                raise exc.InvalidBackup("Backup already exists in database.")
            hosts = [r.host for r in await self.state.hosts.services(s, binary=rpc.BACKUP_BINARY)
                     if self.state.hosts.is_up(r) and not r.disabled]
        if not hosts:
            raise exc.ServiceNotFound("cinder-backup")
        check = await self.bus.call(rpc.backup_topic(hosts[0]), "check_backup", {"backup": {
            "id": backup_id, "store": kind, "container": container, "account": account,
            "checksum": fields.get("checksum")}}, timeout=60)
        if check.get("error"):
            raise exc.InvalidBackup(check["error"])
        async with self.db.session() as s:
            if await s.get(Backup, backup_id) is not None:
                raise exc.InvalidBackup("Backup already exists in database.")
            parent_id = fields.get("parent_id")
            parent = await s.get(Backup, parent_id) if parent_id else None
            if parent_id and parent is None:
                raise exc.InvalidBackup(f"The parent {parent_id} of this incremental backup is not in this cloud; "
                                        "import it first.")
            if parent is not None and store_kind(parent.service) != kind:
                raise exc.InvalidBackup(f"The parent {parent_id} of this incremental backup is kept in "
                                        "another backup store.")
            reservations = await self.state.quotas.reserve(s, ctx.project_id, backup_deltas(size))
            row = Backup(id=backup_id, project_id=ctx.project_id, user_id=ctx.user_id or "",
                         volume_id=str(fields.get("volume_id") or check.get("volume_id") or ""),
                         name=fields.get("name"), description=fields.get("description"), status="available",
                         size=size, object_count=int(check.get("object_count") or 0), container=container,
                         availability_zone=fields.get("availability_zone"), host=hosts[0],
                         service=SERVICES[kind], service_metadata=account, is_incremental=bool(parent_id),
                         parent_id=parent_id, checksum=fields.get("checksum"),
                         data_timestamp=utcnow(), metadata_=fields.get("metadata") or {})
            s.add(row)
            if parent is not None:
                parent.num_dependent_backups += 1
            await s.flush()
            await self.state.quotas.commit(s, reservations)
            return row
