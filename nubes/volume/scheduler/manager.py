"""The scheduler and the worker of the managers' reports (``volume.scheduler``, ``volume.worker``).

Both need the database, so both run on the controller; managers talk to the worker only over
the bus (``nubes.volume.rpc`` has the messages)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy import delete, select

from nubes.core.db.base import utcnow
from nubes.volume import rpc
from nubes.volume.db.models import Snapshot, SnapshotMetadata, Volume, VolumeAdminMetadata, VolumeMetadata, VolumeType
from nubes.volume.scheduler import filters
from nubes.volume.scheduler.reports import CREATE_TASKS, ActionReports
from nubes.volume.service import messages, volume_from_backup, volume_tasks
from nubes.volume.service.quotas import volume_deltas
from nubes.volume.service.snapshots import snapshot_deltas, snapshot_record

LOG = logging.getLogger(__name__)


class SchedulerWorker:
    def __init__(self, rt: Any) -> None:
        from nubes.volume.service.runtime import VolumeState

        self.rt = rt
        self.bus = rt.bus
        self.state = VolumeState(rt)
        self.db = self.state.db
        self.reports = ActionReports(self)

    async def start(self) -> None:
        await self.state.types.ensure_default()
        self._reported = asyncio.Event()
        await self.bus.serve(rpc.SCHEDULER_TOPIC, {"create_volume": self.create_volume})
        await self.bus.serve(rpc.WORKER_TOPIC, self.worker_handlers())
        self._recovery = asyncio.create_task(self.recover(), name="volume-scheduler-recovery")

    async def stop(self) -> None:
        self._recovery.cancel()
        await asyncio.gather(self._recovery, return_exceptions=True)

    async def recover(self) -> None:
        """What a previous run of the controller left on its way: creates never scheduled are
        scheduled (once a manager of this run has reported, or after two report intervals, so
        the pools are current) and deletes of volumes that never reached a backend finished.
        Work sent to a backend is the managers' to finish (``VolumeManager.reconcile``)."""
        async with self.db.reader() as s:
            unscheduled = list((await s.execute(select(Volume.id).where(
                Volume.status == "creating", Volume.task == "scheduling"))).scalars())
            unhosted = list((await s.execute(select(Volume.id).where(
                Volume.task == "deleting", Volume.host.is_(None)))).scalars())
            snapshots = list((await s.execute(select(Snapshot.id).join(Volume, Volume.id == Snapshot.volume_id)
                                              .where(Snapshot.task == "deleting", Volume.host.is_(None)))).scalars())
        for snapshot_id in snapshots:
            await self.snapshot_deleted({"snapshot_id": snapshot_id})
        for volume_id in unhosted:
            await self.volume_deleted({"volume_id": volume_id})
        if not unscheduled:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._reported.wait(), timeout=2 * self.state.conf.report_interval)
        LOG.info("scheduling %d volume(s) a previous run left unscheduled", len(unscheduled))
        for volume_id in unscheduled:
            await self.create_volume({"volume_id": volume_id})

    def worker_handlers(self) -> dict[str, Any]:
        from nubes.volume.backup.reports import BackupReports

        return {**BackupReports(self.state).handlers(),"service_report": self.service_report, "volumes_on_backend": self.volumes_on_backend,
                "volume_created": self.volume_created, "volume_failed": self.volume_failed,
                "volume_deleted": self.volume_deleted, "snapshot_created": self.snapshot_created,
                "snapshot_failed": self.snapshot_failed, "snapshot_deleted": self.snapshot_deleted,
                **self.reports.handlers()}

    # scheduling
    async def create_volume(self, payload: dict) -> None:
        volume_id = payload["volume_id"]
        async with self.db.session() as s:
            row = await s.get(Volume, volume_id)
            if row is None or row.status != "creating" or row.task != "scheduling":
                return          # deleted meanwhile, or this message came twice
            specs = await self.state.types.specs(s, row.volume_type_id)
            request = {"size": row.size, "availability_zone": row.availability_zone, "extra_specs": specs}
            pools = await self.state.hosts.pools(s)
            source = await volume_tasks.source_payload(s, row, self.state.types.specs)
            if source and source["kind"] in ("snapshot", "volume"):
                # a clone, or a volume from a snapshot, is made on its source's backend
                src_host = rpc.backend_host(source["volume"].get("host") or "")
                pools = [p for p in pools if p["host"] == src_host]
            pool, steps = filters.select(pools, request)
            if pool is None:
                LOG.info("no valid backend for volume %s (%s)", volume_id, ", ".join(steps))
                row.status, row.task = "error", None
                await messages.write(s, project_id=row.project_id, resource_uuid=row.id,
                                     action_id=messages.ACTION_SCHEDULE, detail_id=messages.DETAIL_NO_BACKEND,
                                     request_id=payload.get("request_id"))
                return
            row.host = pool["name"]
            row.task = {None: "creating", "image": "downloading"}.get(source and source["kind"], "cloning")
            await self._consume(s, pool, row.size)
            record = rpc.volume_record(row, specs)
        await self.bus.cast(rpc.manager_topic(pool["host"]), "create_volume",
                            {"volume": record, **({"source": source} if source else {})})

    async def _consume(self, s: Any, pool: dict[str, Any], size: int) -> None:
        """Count the new volume against the pool until its manager's next report (Cinder's
        host state ``consume_from_volume``), so a burst of creates does not overfill it."""
        from nubes.volume.db.models import Service

        svc = (await s.execute(select(Service).where(Service.host == pool["host"],
                                                     Service.binary == rpc.BINARY))).scalars().first()
        if svc is not None and svc.capabilities:
            caps = dict(svc.capabilities)
            caps["provisioned_capacity_gb"] = float(caps.get("provisioned_capacity_gb") or 0) + size
            caps["allocated_capacity_gb"] = float(caps.get("allocated_capacity_gb") or 0) + size
            if not caps.get("thin_provisioning_support"):
                caps["free_capacity_gb"] = float(caps.get("free_capacity_gb") or 0) - size
            svc.capabilities = caps

    # the managers' reports
    async def service_report(self, payload: dict) -> dict:
        async with self.db.session() as s:
            svc = await self.state.hosts.report(s, payload["host"], rpc.BINARY, payload["availability_zone"],
                                                payload.get("stats"))
            disabled = svc.disabled
        self._reported.set()
        return {"disabled": disabled}

    async def volumes_on_backend(self, payload: dict) -> dict:
        host = payload["host"]
        async with self.db.reader() as s:
            rows = (await s.execute(select(Volume).where(
                (Volume.host == host) | Volume.host.like(f"{host}#%")))).scalars().all()
            specs = await self.state.types.specs_of(s, list({r.volume_type_id for r in rows}))
            snaps = (await s.execute(select(Snapshot).where(Snapshot.volume_id.in_([r.id for r in rows])))).scalars()
            records = [rpc.volume_record(r, specs.get(r.volume_type_id, {})) for r in rows]
            for r, record in zip(rows, records):
                if r.task in ("cloning", "downloading"):
                    record["source"] = await volume_tasks.source_payload(s, r, self.state.types.specs)
                elif r.task in ("extending", "reverting", "uploading"):
                    record["task_args"] = await volume_tasks.get_args(s, r.id)
            from nubes.volume.service.attachments import known_exports

            return {"volumes": records,
                    "snapshots": [snapshot_record(x) for x in snaps],
                    "exports": await known_exports(s, [r.id for r in rows])}

    async def volume_created(self, payload: dict) -> None:
        restore = None
        async with self.db.session() as s:
            row = await s.get(Volume, payload["volume_id"])
            if row is None or row.task not in CREATE_TASKS:
                return
            for key, value in (payload.get("model_update") or {}).items():
                if key in ("provider_location", "provider_id"):
                    setattr(row, key, value)
            backup_id = (await volume_tasks.get_args(s, row.id)).get("backup_id")
            await self.reports.created_from_source(s, row, payload)
            row.launched_at = utcnow()
            if backup_id:
                restore = await volume_from_backup.begin(self.state, s, row, backup_id, payload.get("request_id"))
            else:
                row.status, row.task = "available", None
        if restore is not None:
            topic, body = restore
            await self.bus.cast(topic, "restore_backup", body)

    async def volume_failed(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Volume, payload["volume_id"])
            if row is None:
                return
            if payload.get("action") == "delete":
                if row.task != "deleting":
                    return
                row.status, row.task = "error_deleting", None
                action, detail = messages.ACTION_DELETE, messages.DETAIL_DELETE
            else:
                if row.task not in CREATE_TASKS:
                    return
                row.status, row.task = "error", None
                action, detail = messages.ACTION_CREATE, messages.DETAIL_DRIVER_FAILED_CREATE
                if payload.get("source") == "image":
                    action = messages.ACTION_COPY_IMAGE_TO_VOLUME
                await volume_tasks.clear_args(s, row.id)
            await messages.write(s, project_id=row.project_id, resource_uuid=row.id, action_id=action,
                                 detail_id=detail, request_id=payload.get("request_id"),
                                 text=payload.get("message"))

    async def volume_deleted(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Volume, payload["volume_id"])
            if row is None or row.task != "deleting":
                return
            if row.use_quota:
                type_name = await self._type_name(s, row.volume_type_id)
                await self.state.quotas.release_now(s, row.project_id, volume_deltas(row.size, type_name))
            await s.execute(delete(VolumeMetadata).where(VolumeMetadata.volume_id == row.id))
            await s.execute(delete(VolumeAdminMetadata).where(VolumeAdminMetadata.volume_id == row.id))
            await s.delete(row)

    # snapshots
    async def snapshot_created(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Snapshot, payload["snapshot_id"])
            if row is None or row.task != "creating":
                return
            for key, value in (payload.get("model_update") or {}).items():
                if key in ("provider_location", "provider_id"):
                    setattr(row, key, value)
            row.status, row.task, row.progress = "available", None, "100%"

    async def snapshot_failed(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Snapshot, payload["snapshot_id"])
            deleting = payload.get("action") == "delete"
            if row is None or row.task != ("deleting" if deleting else "creating"):
                return
            row.status, row.task = ("error_deleting" if deleting else "error"), None
            await messages.write(s, project_id=row.project_id, resource_uuid=row.id,
                                 action_id=messages.ACTION_SNAPSHOT_DELETE if deleting else messages.ACTION_SNAPSHOT_CREATE,
                                 detail_id=messages.DETAIL_SNAPSHOT_DELETE if deleting else messages.DETAIL_SNAPSHOT_CREATE,
                                 request_id=payload.get("request_id"), text=payload.get("message"),
                                 resource_type="VOLUME_SNAPSHOT")

    async def snapshot_deleted(self, payload: dict) -> None:
        async with self.db.session() as s:
            row = await s.get(Snapshot, payload["snapshot_id"])
            if row is None or row.task != "deleting":
                return
            if row.use_quota:
                type_name = await self._type_name(s, row.volume_type_id) if row.volume_type_id else None
                await self.state.quotas.release_now(s, row.project_id, snapshot_deltas(row.volume_size, type_name))
            await s.execute(delete(SnapshotMetadata).where(SnapshotMetadata.snapshot_id == row.id))
            await s.delete(row)

    async def _type_name(self, s: Any, type_id: str) -> str | None:
        vt = await s.get(VolumeType, type_id)
        return vt.name if vt else None
