"""The backup worker of one backend (Cinder's ``cinder-backup``), beside its volume manager.

It serves ``volume.backup.<host@backend>``: it reads and writes the backend's volumes through
the driver's ``local_image`` on this machine and keeps the backups in the store; like the
volume manager it never touches the database, and reports to ``volume.worker``. At start it
reconciles: a backup or restore its previous run left under way failed (its volume back to
available / in-use, or ``error_restoring``), a delete finished, partial files and temporary
snapshots removed.

Each backup record names its store (``store``: ``directory`` or ``object``, with its container and,
for object storage, its account); the worker keeps both and uses the one the record names.

A backup reads the volume's image (``local_image``), a snapshot's (``snapshot_image``) for a
backup of a snapshot, or, for an in-use volume, a temporary snapshot's, taken for the backup
and deleted after it."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.core.exceptions import CloudError
from nubes.volume import rpc
from nubes.volume.backup import engine
from nubes.volume.backup.store import BackupStore, DirectoryStore, Location, StoreError
from nubes.volume.drivers.base import VolumeDriver, VolumeDriverError

LOG = logging.getLogger(__name__)
FAILURES = (engine.BackupError, StoreError, VolumeDriverError, OSError, ValueError, KeyError)


def temporary_snapshot_id(backup_id: str) -> str:
    """The backend's name of the snapshot a backup of an in-use volume reads."""
    return f"backup-{backup_id}"


def location(backup: dict, prefix: str = "") -> Location:
    """Where a worker record says its backup (``prefix="parent_"``: its parent) lives."""
    return Location(backup[f"{prefix}container"], backup.get(f"{prefix}account"))


class BackupManager:
    def __init__(self, bus: Any, host: str, availability_zone: str, driver: VolumeDriver, store: DirectoryStore,
                 *, chunk_size: int, report_interval: float = 10.0,
                 objects: BackupStore | None = None) -> None:
        if chunk_size < 65536 or chunk_size % 4096:
            raise ValueError(f"[volume] backup_chunk_size must be a multiple of 4096 and at least 65536, "
                             f"not {chunk_size}")
        self.bus = bus
        self.host = host                  # host@backend, as its volume manager
        self.availability_zone = availability_zone
        self.driver = driver
        self.store = store                # the directory store, which also holds the scratch space
        self.objects = objects            # the object-storage store (None: no client to reach it)
        self.chunk_size = chunk_size
        self.report_interval = report_interval
        self.scratch = store.root / ".scratch" / host
        self._reporter: asyncio.Task | None = None

    def store_of(self, backup: dict) -> BackupStore:
        if backup.get("store", "directory") == "directory":
            return self.store
        if self.objects is None:
            raise StoreError("this backup worker cannot reach object storage (no service clients)")
        return self.objects

    def handlers(self) -> dict[str, Any]:
        return {"create_backup": self.create_backup, "restore_backup": self.restore_backup,
                "delete_backup": self.delete_backup, "check_backup": self.check_backup}

    async def start(self) -> None:
        self.store.root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.scratch, ignore_errors=True)
        await self.report()
        await self.bus.serve(rpc.backup_topic(self.host), self.handlers())
        await self.reconcile()
        self._reporter = asyncio.create_task(self._report_loop(), name=f"backup-report-{self.host}")

    async def stop(self) -> None:
        if self._reporter is not None:
            self._reporter.cancel()
            await asyncio.gather(self._reporter, return_exceptions=True)
        close = getattr(self.objects, "close", None)
        if close is not None:
            close()

    async def report(self) -> None:
        await self.bus.call(rpc.WORKER_TOPIC, "backup_service_report", {
            "host": self.host, "availability_zone": self.availability_zone}, timeout=15)

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.report_interval)
            try:
                await self.report()
            except (CloudError, OSError) as err:
                LOG.warning("backup worker %s could not report: %s", self.host, err)

    async def reconcile(self) -> None:
        reply = await self.bus.call(rpc.WORKER_TOPIC, "backups_on_host", {"host": self.host}, timeout=30)
        for b in reply.get("backups", []):
            if b["status"] == "creating":
                try:
                    await run_blocking(self.store_of(b).remove_partial, location(b), b["id"])
                except StoreError as err:            # left for the delete of the backup in error
                    LOG.warning("partial backup %s not removed: %s", b["id"], err.message)
                await self._drop_temporary({"id": temporary_snapshot_id(b["id"]), "volume_id": b.get("volume_id"),
                                            "volume_size": 0, "provider_location": None},
                                           {"id": b.get("volume_id")})
                await self._failed(b["id"], "create", "The backup service restarted while the backup was made.")
            elif b["status"] == "restoring":
                await self._failed(b["id"], "restore", "The backup service restarted during the restore.")
            elif b["status"] == "deleting":
                await self.delete_backup({"backup": b})
        active = set(reply.get("creating", []))
        for where, backup_id in await run_blocking(self.store.partials):
            if backup_id not in active:
                LOG.info("removing the partial files of backup %s", backup_id)
                await run_blocking(self.store.remove_partial, where, backup_id)

    async def _failed(self, backup_id: str, action: str, message: str) -> None:
        await self.bus.cast(rpc.WORKER_TOPIC, "backup_failed", {
            "backup_id": backup_id, "host": self.host, "action": action, "message": message})

    async def _still(self, backup_id: str, status: str) -> bool:
        """Is the backup still waiting for this work (a redelivered message after a reconcile is not)?"""
        reply = await self.bus.call(rpc.WORKER_TOPIC, "backup_status", {"backup_id": backup_id}, timeout=30)
        return reply.get("status") == status

    async def create_backup(self, payload: dict) -> None:
        backup, volume = payload["backup"], payload["volume"]
        if not await self._still(backup["id"], "creating"):
            return
        writer = None
        temporary = None
        try:
            store, where = self.store_of(backup), location(backup)
            parent = None
            if backup.get("parent_id"):         # an incremental is kept in its parent's store
                parent, _raw = await run_blocking(store.read_metadata, location(backup, "parent_"),
                                                  backup["parent_id"])
                engine.check_metadata(parent, backup["parent_id"])
            if payload.get("snapshot"):
                path, fmt = await self.driver.snapshot_image(payload["snapshot"])
            elif payload.get("in_use"):
                temporary = await self._temporary_snapshot(backup, volume)
                path, fmt = await self._image_at(temporary, volume)
            else:
                path, fmt = await self.driver.local_image(volume)
            writer = await run_blocking(store.begin, where, backup["id"])
            meta = await run_blocking(
                engine.backup_image, path, fmt, writer, backup_id=backup["id"], volume_id=volume["id"],
                where=where, chunk_size=self.chunk_size, scratch=self.scratch, parent=parent)
        except FAILURES as err:
            if writer is not None:
                await run_blocking(writer.abort)
            reason = getattr(err, "message", None) or str(err)
            LOG.warning("backup %s of volume %s failed: %s", backup["id"], volume["id"], reason)
            await self._drop_temporary(temporary, volume)
            await self._failed(backup["id"], "create", reason)
            return
        await self._drop_temporary(temporary, volume)
        await self.bus.cast(rpc.WORKER_TOPIC, "backup_created", {
            "backup_id": backup["id"], "host": self.host, "object_count": meta["object_count"],
            "checksum": meta["metadata_sha256"], "size_bytes": meta["size"]})

    async def _temporary_snapshot(self, backup: dict, volume: dict) -> dict | None:
        """A point-in-time copy of an in-use volume to read, as Cinder's temporary snapshot for
        backups of attached volumes (no record in the database: the manager's reconcile removes
        one a crash leaves). None when the backend cannot take it now (a volume a local
        hypervisor holds open: only that hypervisor can snapshot it); the volume is then read as
        it lies, crash-consistent at best."""
        snapshot = {"id": temporary_snapshot_id(backup["id"]), "volume_id": volume["id"],
                    "volume_size": volume["size"], "provider_location": None}
        try:
            await self.driver.create_snapshot(snapshot, volume)
        except VolumeDriverError as err:
            LOG.warning("backup %s: no temporary snapshot of in-use volume %s (%s); reading it live",
                        backup["id"], volume["id"], err.message)
            return None
        return snapshot

    async def _image_at(self, snapshot: dict | None, volume: dict) -> tuple[Path, str]:
        if snapshot is None:
            return await self.driver.local_image(volume)
        return await self.driver.snapshot_image(snapshot)

    async def _drop_temporary(self, snapshot: dict | None, volume: dict) -> None:
        if snapshot is None:
            return
        try:
            await self.driver.delete_snapshot(snapshot, volume)
        except VolumeDriverError as err:       # the manager's next reconcile removes it
            LOG.warning("could not delete temporary snapshot %s: %s", snapshot["id"], err.message)

    async def _metadata(self, backup: dict) -> dict:
        meta, raw = await run_blocking(self.store_of(backup).read_metadata, location(backup), backup["id"])
        engine.check_metadata(meta, backup["id"])
        if backup.get("checksum"):
            if hashlib.sha256(raw).hexdigest() != backup["checksum"]:
                raise engine.ChecksumMismatch(f"the metadata of backup {backup['id']} does not match its checksum")
        return meta

    async def restore_backup(self, payload: dict) -> None:
        backup, volume = payload["backup"], payload["volume"]
        if not await self._still(backup["id"], "restoring"):
            return
        try:
            meta = await self._metadata(backup)
            path, fmt = await self.driver.local_image(volume)
            await run_blocking(engine.restore_image, self.store_of(backup), meta, Path(path), fmt,
                               scratch=self.scratch, where=location(backup))
        except FAILURES as err:
            reason = getattr(err, "message", None) or str(err)
            LOG.warning("restore of backup %s to volume %s failed: %s", backup["id"], volume["id"], reason)
            await self._failed(backup["id"], "restore", reason)
            return
        await self.bus.cast(rpc.WORKER_TOPIC, "backup_restored", {
            "backup_id": backup["id"], "volume_id": volume["id"], "host": self.host})

    async def delete_backup(self, payload: dict) -> None:
        backup = payload["backup"]
        try:
            await run_blocking(self.store_of(backup).delete, location(backup), backup["id"])
        except FAILURES as err:
            reason = getattr(err, "message", None) or str(err)
            await self._failed(backup["id"], "delete", reason)
            return
        await self.bus.cast(rpc.WORKER_TOPIC, "backup_deleted", {"backup_id": backup["id"], "host": self.host})

    async def check_backup(self, payload: dict) -> dict:
        """For an imported record: is the backup in its store and whole? -> {size, object_count}
        or {error}."""
        backup = payload["backup"]
        try:
            meta = await self._metadata(backup)
        except FAILURES as err:
            return {"error": getattr(err, "message", None) or str(err)}
        stored = sum(1 for c in meta["chunks"] if c[2] == backup["id"])
        return {"size": meta["size"], "object_count": stored, "volume_id": meta.get("volume_id"),
                "parent_id": meta.get("parent_id")}
