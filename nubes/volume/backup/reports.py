"""The controller's side of the backup workers (served on ``volume.worker`` beside the
scheduler): the records, the volumes' statuses, quota and user messages follow the reports.
Every handler checks the backup's status first, so a report delivered twice changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from nubes.core.db.base import utcnow
from nubes.volume import rpc
from nubes.volume.backup.store import store_kind
from nubes.volume.db.models import Backup, Snapshot, Volume, VolumeAttachment
from nubes.volume.service import messages, volume_from_backup

ACTION_BACKUP_CREATE, ACTION_BACKUP_DELETE, ACTION_BACKUP_RESTORE = "013", "014", "015"   # Cinder's
# Cinder's details: backup driver failed to create, delete, restore
DETAILS = {ACTION_BACKUP_CREATE: "020", ACTION_BACKUP_DELETE: "025", ACTION_BACKUP_RESTORE: "026"}


def backup_deltas(size: int) -> dict[str, int]:
    return {"backups": 1, "backup_gigabytes": size}


async def settled_status(s: Any, volume: Volume) -> str:
    """What a volume goes back to after a backup: in-use when attached, else available."""
    attached = (await s.execute(select(func.count()).select_from(VolumeAttachment).where(
        VolumeAttachment.volume_id == volume.id))).scalar_one()
    return "in-use" if attached or volume.attach_status == "attached" else "available"


async def finish_delete(state: Any, s: Any, row: Backup) -> None:
    """The record goes, its quota is given back, its parent has one dependent less."""
    await state.quotas.release_now(s, row.project_id, backup_deltas(row.size))
    if row.parent_id:
        parent = await s.get(Backup, row.parent_id)
        if parent is not None:
            parent.num_dependent_backups = max(0, parent.num_dependent_backups - 1)
    await s.delete(row)


class BackupReports:
    def __init__(self, state: Any) -> None:
        self.state = state
        self.db = state.db

    def handlers(self) -> dict[str, Any]:
        return {"backup_service_report": self.service_report, "backups_on_host": self.backups_on_host,
                "backup_status": self.backup_status, "backup_created": self.backup_created,
                "backup_failed": self.backup_failed, "backup_restored": self.backup_restored,
                "backup_deleted": self.backup_deleted}

    async def service_report(self, payload: dict) -> dict:
        async with self.db.session() as s:
            svc = await self.state.hosts.report(s, payload["host"], rpc.BACKUP_BINARY,
                                                payload["availability_zone"], None)
            return {"disabled": svc.disabled}

    async def backups_on_host(self, payload: dict) -> dict:
        async with self.db.reader() as s:
            rows = (await s.execute(select(Backup).where(
                Backup.host == payload["host"], Backup.status.in_(("creating", "restoring", "deleting"))))).scalars()
            mine = [{"id": r.id, "status": r.status, "store": store_kind(r.service), "container": r.container,
                     "account": r.service_metadata, "volume_id": r.volume_id} for r in rows]
            others = (await s.execute(select(Backup.id).where(Backup.status == "creating",
                                                              Backup.host != payload["host"]))).scalars()
            return {"backups": mine, "creating": list(others)}

    async def backup_status(self, payload: dict) -> dict:
        async with self.db.reader() as s:
            row = await s.get(Backup, payload["backup_id"])
            return {"status": row.status if row else None}

    async def backup_created(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Backup, payload["backup_id"])
            if row is None or row.status != "creating":
                return
            row.status, row.object_count, row.checksum = "available", payload["object_count"], payload["checksum"]
            await self._settle_source(s, row)

    async def _settle_source(self, s: Any, row: Backup) -> None:
        """The backed-up snapshot, or volume, back to what it was before the backup."""
        if row.snapshot_id:
            snapshot = await s.get(Snapshot, row.snapshot_id)
            if snapshot is not None and snapshot.status == "backing-up":
                snapshot.status = "available"
            return
        volume = await s.get(Volume, row.volume_id)
        if volume is not None and volume.status == "backing-up":
            volume.status = await settled_status(s, volume)

    async def backup_failed(self, payload: dict) -> None:
        action = payload.get("action", "create")
        text = payload.get("message") or "unknown error"
        async with self.db.session() as s:
            row = await s.get(Backup, payload["backup_id"])
            wanted = {"create": "creating", "restore": "restoring", "delete": "deleting"}[action]
            if row is None or row.status != wanted:
                return
            if action == "create":
                row.status, row.fail_reason = "error", text
                await self._settle_source(s, row)
                action_id, resource, uuid_ = ACTION_BACKUP_CREATE, "VOLUME_BACKUP", row.id
            elif action == "restore":
                row.status, row.fail_reason = "available", text
                volume = await s.get(Volume, row.restore_volume_id) if row.restore_volume_id else None
                if volume is not None and volume.status == "restoring-backup":
                    # a volume made from the backup fails as a create does; an existing one is
                    # error_restoring (Cinder's volume_is_new)
                    new = volume.task == volume_from_backup.TASK
                    volume.status, volume.task = ("error" if new else "error_restoring"), None
                action_id, resource, uuid_ = ACTION_BACKUP_RESTORE, "VOLUME", row.restore_volume_id or row.id
            else:
                row.status, row.fail_reason = "error_deleting", text
                action_id, resource, uuid_ = ACTION_BACKUP_DELETE, "VOLUME_BACKUP", row.id
            await messages.write(s, project_id=row.project_id, resource_uuid=uuid_, action_id=action_id,
                                 detail_id=DETAILS[action_id], request_id=None, text=text,
                                 resource_type=resource)

    async def backup_restored(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Backup, payload["backup_id"])
            if row is None or row.status != "restoring":
                return
            row.status, row.fail_reason = "available", None
            volume = await s.get(Volume, payload["volume_id"])
            if volume is not None and volume.status == "restoring-backup":
                volume.status = "available"
                volume.updated_at = utcnow()
                if volume.task == volume_from_backup.TASK:
                    volume.task = None

    async def backup_deleted(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Backup, payload["backup_id"])
            if row is None or row.status != "deleting":
                return
            await finish_delete(self.state, s, row)
