"""The block storage service's bus contract: who talks to whom, with which messages.

Processes and topics (Cinder's flow: API → scheduler → volume manager → driver):

- ``volume.scheduler`` — served beside the API on the controller (``nubes.volume.scheduler``),
  with the database. It picks a backend for each new volume from the capacity the managers
  report, and is also the worker the managers report to (``volume.worker``).
- ``volume.manager.<host@backend>`` — served by the volume manager of one backend
  (``nubes.volume.agent``; ``nubes agent volume`` on a storage node, in-process in ``nubes up``).
  Managers never touch the database: they get records in messages and report back.

Every payload is a dict; handlers are idempotent (delivery is at least once).

API → scheduler
  cast ``create_volume`` {volume_id, request_id}: filter and weigh the backends (availability
      zone, capacity with thin provisioning, extra specs), set ``host``, cast ``create_volume``
      to that manager; no backend: status ``error`` and a user message.

API → manager (the volume's backend)
  cast ``delete_volume`` {volume}: the driver deletes it, then ``volume_deleted``.
  cast ``create_snapshot`` {snapshot, volume}: then ``snapshot_created`` or ``snapshot_failed``.
  cast ``delete_snapshot`` {snapshot, volume}: then ``snapshot_deleted`` or ``snapshot_failed``.
  cast ``extend_volume`` {volume, new_size, servers}: the driver grows it, compute hears
      ``volume-extended`` for each server, then ``volume_extended`` or ``volume_extend_failed``.
  cast ``revert_to_snapshot`` {volume, snapshot}: then ``volume_reverted`` or ``volume_revert_failed``.
  cast ``upload_to_image`` {volume, image_id, disk_format}: the driver copies it to a staging
      file, streamed to the image; then ``volume_uploaded`` or ``volume_upload_failed``.

  call ``export_volume`` {volume, attachment_id, connector} → {connection_info} or {error}: the
      driver's ``export`` for one attachment (service/attachments.py).
  call ``unexport_volume`` {volume, attachment_id} → {} or {error}: the driver's ``unexport``.

scheduler → manager
  cast ``create_volume`` {volume, source?}: the driver creates it (from ``source``: {kind:
      snapshot, snapshot, volume} | {kind: volume, volume} | {kind: image, image_id}), then
      ``volume_created`` (with image_metadata and bootable for an image) or ``volume_failed``.

manager → worker (``volume.worker``, same process as the scheduler)
  call ``service_report`` {host, backend, availability_zone, stats: BackendStats fields}
      → {disabled}: the heartbeat and capacity report, every ``report_interval``.
  call ``volumes_on_backend`` {host} → {volumes: [records], snapshots: [snapshot records]}: for
      the reconcile after a restart.
  cast ``volume_created`` {volume_id, host, model_update}: available; quota committed.
  cast ``volume_failed`` {volume_id, host, action: create|delete, message}: error /
      error_deleting with a user message; a failed create's quota is rolled back.
  cast ``volume_deleted`` {volume_id, host}: the record and its quota usage go.
  cast ``volume_extended`` {volume_id, host, new_size}, ``volume_extend_failed`` {volume_id, host,
      message}, ``volume_reverted`` / ``volume_revert_failed`` {volume_id, host, snapshot_id,
      message?}, ``volume_uploaded`` / ``volume_upload_failed`` {volume_id, host, image_id,
      message?}: the task ends (scheduler/reports.py); records of tasks under way carry
      ``task_args`` (or ``source``) in ``volumes_on_backend`` for the reconcile.
  cast ``snapshot_created`` {snapshot_id, host, model_update}, ``snapshot_failed`` {snapshot_id,
      host, action, message}, ``snapshot_deleted`` {snapshot_id, host}: likewise for snapshots.

Backups (``nubes.volume.backup``; a backup worker ``volume.backup.<host@backend>`` beside each
manager, reading the volume through the driver's ``local_image``)
  API → backup worker of the volume's backend:
  cast ``create_backup`` {backup: {id, volume_id, container, parent_id, parent_container}, volume}
      → ``backup_created`` {backup_id, host, object_count, checksum, size_bytes} or ``backup_failed``.
  cast ``restore_backup`` {backup: {id, container, checksum}, volume} → ``backup_restored``
      {backup_id, volume_id, host} or ``backup_failed`` (action ``restore``).
  cast ``delete_backup`` {backup: {id, container}} (to the backup's host) → ``backup_deleted``
      {backup_id, host} or ``backup_failed`` (action ``delete``).
  call ``check_backup`` {backup: {id, container, checksum}} → {size, object_count, volume_id,
      parent_id} or {error}: an imported record's files.
  backup worker → worker: call ``backup_service_report`` {host, availability_zone} (heartbeat,
      ``cinder-backup``), call ``backups_on_host`` {host} → {backups: [{id, status, container}],
      creating: [ids]} for its reconcile, call ``backup_status`` {backup_id} → {status} before it
      starts (a redelivered message after a reconcile does nothing).

A volume record (``volume_record``) is the driver's ``volume`` dict (drivers/base.py): id,
size, provider_location, provider_id, host, status, task, extra_specs, project_id; a snapshot
record (``service.snapshots.snapshot_record``) id, volume_id, volume_size, provider_location,
status, task.

How to add a manager operation: name a cast here, add the handler to
``agent/manager.VolumeManager.handlers`` (driver call, then a report cast), the report handler
to ``scheduler/manager.SchedulerWorker`` (``worker_handlers``), and the API side that casts it
(``service/``), setting a ``task`` the reconcile (``agent/reconcile.py``) knows how to finish.
"""

from __future__ import annotations

from typing import Any

SCHEDULER_TOPIC = "volume.scheduler"
WORKER_TOPIC = "volume.worker"
BINARY = "cinder-volume"
SCHEDULER_BINARY = "cinder-scheduler"
BACKUP_BINARY = "cinder-backup"


def manager_topic(host: str) -> str:
    return f"volume.manager.{host}"


def backup_topic(host: str) -> str:
    """The backup worker beside the manager of ``host@backend``."""
    return f"volume.backup.{backend_host(host)}"


def backend_host(host: str) -> str:
    """``host@backend`` of a volume's ``host@backend#pool``."""
    return host.partition("#")[0]


def volume_record(row: Any, extra_specs: dict[str, str]) -> dict[str, Any]:
    return {"id": row.id, "size": row.size, "provider_location": row.provider_location,
            "provider_id": row.provider_id, "host": row.host, "status": row.status, "task": row.task,
            "project_id": row.project_id, "extra_specs": dict(extra_specs)}
