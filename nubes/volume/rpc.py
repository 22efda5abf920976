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

  call ``export_volume`` {volume, attachment_id, connector} → {connection_info} or {error}: the
      driver's ``export`` for one attachment (service/attachments.py).
  call ``unexport_volume`` {volume, attachment_id} → {} or {error}: the driver's ``unexport``.

scheduler → manager
  cast ``create_volume`` {volume}: the driver creates it, then ``volume_created`` or
      ``volume_failed``.

manager → worker (``volume.worker``, same process as the scheduler)
  call ``service_report`` {host, backend, availability_zone, stats: BackendStats fields}
      → {disabled}: the heartbeat and capacity report, every ``report_interval``.
  call ``volumes_on_backend`` {host} → {volumes: [records], snapshots: [snapshot records]}: for
      the reconcile after a restart.
  cast ``volume_created`` {volume_id, host, model_update}: available; quota committed.
  cast ``volume_failed`` {volume_id, host, action: create|delete, message}: error /
      error_deleting with a user message; a failed create's quota is rolled back.
  cast ``volume_deleted`` {volume_id, host}: the record and its quota usage go.
  cast ``snapshot_created`` {snapshot_id, host, model_update}, ``snapshot_failed`` {snapshot_id,
      host, action, message}, ``snapshot_deleted`` {snapshot_id, host}: likewise for snapshots.

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


def manager_topic(host: str) -> str:
    return f"volume.manager.{host}"


def backend_host(host: str) -> str:
    """``host@backend`` of a volume's ``host@backend#pool``."""
    return host.partition("#")[0]


def volume_record(row: Any, extra_specs: dict[str, str]) -> dict[str, Any]:
    return {"id": row.id, "size": row.size, "provider_location": row.provider_location,
            "provider_id": row.provider_id, "host": row.host, "status": row.status, "task": row.task,
            "project_id": row.project_id, "extra_specs": dict(extra_specs)}
