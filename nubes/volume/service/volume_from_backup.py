"""A volume made from a backup (``backup_id``, 3.47), as Cinder does it when the backend has no
faster way: the scheduler places a blank volume like any other, its manager makes it, and when
the worker hears it was made the volume goes ``restoring-backup`` (task ``restoring``) and the
backup ``restoring``, and the backup worker of the volume's backend writes the backup into it.
Its report (``backup_restored`` / ``backup_failed``, backup/reports.py) ends both: the volume
``available``, or ``error`` with a user message (an existing volume a restore fails on is
``error_restoring`` instead, as in Cinder)."""

from __future__ import annotations

from typing import Any

from nubes.volume import rpc
from nubes.volume.db.models import Backup, Volume
from nubes.volume.service import messages

ACTION_BACKUP_RESTORE, DETAIL_BACKUP_RESTORE = "015", "026"     # Cinder's restore backup, its failure
TASK = "restoring"


async def begin(state: Any, s: Any, row: Volume, backup_id: str,
                request_id: str | None) -> tuple[str, dict[str, Any]] | None:
    """Start restoring ``backup_id`` into the blank volume ``row`` just made; answers the
    (topic, payload) to cast once the transaction is committed, or None when the volume failed
    (the backup went away or its service is down meanwhile: ``error`` and a user message)."""
    from nubes.volume.service.backups import worker_record

    backup = await s.get(Backup, backup_id)
    host = rpc.backend_host(row.host or "")
    reason = None
    if backup is None or backup.status != "available":
        reason = f"backup {backup_id} is no longer available"
    elif not await state.backups.backup_host_up(s, host):
        reason = f"no backup service serves backend {host}"
    if reason is not None:
        row.status, row.task = "error", None
        await messages.write(s, project_id=row.project_id, resource_uuid=row.id, action_id=ACTION_BACKUP_RESTORE,
                             detail_id=DETAIL_BACKUP_RESTORE, request_id=request_id, text=reason)
        return None
    row.status, row.task = "restoring-backup", TASK
    backup.status, backup.restore_volume_id, backup.fail_reason = "restoring", row.id, None
    payload = {"backup": worker_record(backup), "volume": rpc.volume_record(
        row, await state.types.specs(s, row.volume_type_id))}
    return rpc.backup_topic(host), payload
