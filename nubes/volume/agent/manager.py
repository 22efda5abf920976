"""The volume manager of one backend (Cinder's ``cinder-volume`` for ``host@backend``).

It serves ``volume.manager.<host@backend>``, drives its driver, and reports to the worker on the
controller (``rpc.WORKER_TOPIC``); it never touches the database. At start it reconciles: what
its previous run left in ``creating`` or ``deleting`` is finished, and volumes the backend holds
that the database does not know are removed."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

from nubes.core.exceptions import CloudError
from nubes.volume import rpc
from nubes.volume.conf import BackendConf
from nubes.volume.drivers.base import VolumeDriver, VolumeDriverError

LOG = logging.getLogger(__name__)


class VolumeManager:
    def __init__(self, bus: Any, host: str, backend: BackendConf, driver: VolumeDriver,
                 report_interval: float = 10.0, clients: Any = None) -> None:
        from nubes.volume.agent.images import ImageTransfer, staging_dir
        from nubes.volume.agent.manager_actions import ActionSteps

        self.bus = bus
        self.clients = clients              # REST to the image and compute services (service token)
        self.images = ImageTransfer(clients, staging_dir(backend.pool_dir))
        self.steps = ActionSteps(self)
        self.host = f"{host}@{backend.name}"
        self.backend = backend
        self.driver = driver
        self.report_interval = report_interval
        self._reporter: asyncio.Task | None = None

    def handlers(self) -> dict[str, Any]:
        return {"create_volume": self.create_volume, "delete_volume": self.delete_volume,
                "create_snapshot": self.create_snapshot, "delete_snapshot": self.delete_snapshot,
                "export_volume": self.export_volume, "unexport_volume": self.unexport_volume,
                **self.steps.handlers()}

    async def start(self) -> None:
        await self.driver.start()
        await self.images.clean()          # staging files of transfers a previous run left
        # The worker may not serve yet (it starts beside the API): ask until it answers.
        await self._until_answered(self.report)
        await self.bus.serve(rpc.manager_topic(self.host), self.handlers())
        await self._until_answered(self.reconcile)
        self._reporter = asyncio.create_task(self._report_loop(), name=f"volume-report-{self.host}")

    async def stop(self) -> None:
        if self._reporter is not None:
            self._reporter.cancel()
            await asyncio.gather(self._reporter, return_exceptions=True)
        await self.driver.stop()

    async def report(self) -> None:
        stats = dataclasses.asdict(await self.driver.stats())
        stats.update(stats.pop("extra") or {})
        stats["pool_name"] = self.backend.name
        await self.bus.call(rpc.WORKER_TOPIC, "service_report", {
            "host": self.host, "availability_zone": self.backend.availability_zone, "stats": stats},
            timeout=15)

    async def _until_answered(self, step: Any) -> None:
        while True:
            try:
                return await step()
            except CloudError as err:
                LOG.info("volume manager %s waits for the volume worker: %s", self.host, err.message)
                await asyncio.sleep(1)

    async def _report_loop(self) -> None:
        while True:
            await asyncio.sleep(self.report_interval)
            try:
                await self.report()
            except (CloudError, OSError) as err:
                LOG.warning("volume manager %s could not report: %s", self.host, err)

    async def reconcile(self) -> None:
        """Finish what a previous run left under way; remove what the database does not know.

        Volume creates first, then snapshots (which need their volume), then volume deletes (a
        cascade's snapshots go before their volume), then the orphans."""
        reply = await self.bus.call(rpc.WORKER_TOPIC, "volumes_on_backend", {"host": self.host}, timeout=30)
        records = reply["volumes"]
        volumes = {r["id"]: r for r in records}
        for record in records:
            if record.get("task") == "creating":
                LOG.info("volume %s: finishing the create a previous run left", record["id"])
                await self.create_volume({"volume": record})
            elif await self.steps.finish(record):
                LOG.info("volume %s: finished the %s a previous run left", record["id"], record["task"])
        known_snapshots = set()
        for snap in reply.get("snapshots", []):
            known_snapshots.add(snap["id"])
            volume = volumes.get(snap["volume_id"], {"id": snap["volume_id"]})
            if snap.get("task") == "creating":
                await self.create_snapshot({"snapshot": snap, "volume": volume})
            elif snap.get("task") == "deleting":
                await self.delete_snapshot({"snapshot": snap, "volume": volume})
        for record in records:
            if record.get("task") == "deleting":
                LOG.info("volume %s: finishing the delete a previous run left", record["id"])
                await self.delete_volume({"volume": record})
        if "exports" in reply:
            await self._reconcile_exports(volumes, set(reply["exports"]))
        for snapshot_id in await self.driver.list_snapshots():
            if snapshot_id not in known_snapshots:
                LOG.warning("snapshot %s is on backend %s but not in the database: removing it",
                            snapshot_id, self.host)
                try:
                    await self.driver.delete_snapshot({"id": snapshot_id, "volume_id": None, "volume_size": 0,
                                                       "provider_location": None}, {"id": None})
                except VolumeDriverError as err:
                    LOG.error("could not remove orphan snapshot %s: %s", snapshot_id, err.message)
        for volume_id in await self.driver.list_volumes():
            if volume_id not in volumes:
                LOG.warning("volume %s is on backend %s but not in the database: removing it",
                            volume_id, self.host)
                try:
                    await self.driver.delete_volume({"id": volume_id, "size": 0, "provider_location": None,
                                                     "extra_specs": {}})
                except VolumeDriverError as err:
                    LOG.error("could not remove orphan volume %s: %s", volume_id, err.message)

    async def create_volume(self, payload: dict) -> None:
        volume, extra = payload["volume"], {}
        try:
            if payload.get("source"):
                update, extra = await self.steps.create_from_source(volume, payload["source"])
            else:
                update = await self.driver.create_volume(volume)
        except VolumeDriverError as err:
            LOG.warning("volume %s: create failed: %s", volume["id"], err.message)
            await self.bus.cast(rpc.WORKER_TOPIC, "volume_failed", {
                "volume_id": volume["id"], "host": self.host, "action": "create", "message": err.message,
                "source": (payload.get("source") or {}).get("kind")})
            return
        await self.bus.cast(rpc.WORKER_TOPIC, "volume_created", {
            "volume_id": volume["id"], "host": self.host, "model_update": update or {}, **extra})

    async def delete_volume(self, payload: dict) -> None:
        volume = payload["volume"]
        for snapshot in payload.get("snapshots", []):      # a cascade delete: its snapshots first
            await self.delete_snapshot({"snapshot": snapshot, "volume": volume})
        try:
            await self.driver.delete_volume(volume)
        except VolumeDriverError as err:
            LOG.warning("volume %s: delete failed: %s", volume["id"], err.message)
            await self.bus.cast(rpc.WORKER_TOPIC, "volume_failed", {
                "volume_id": volume["id"], "host": self.host, "action": "delete", "message": err.message})
            return
        await self.bus.cast(rpc.WORKER_TOPIC, "volume_deleted", {"volume_id": volume["id"], "host": self.host})

    async def create_snapshot(self, payload: dict) -> None:
        snapshot, volume = payload["snapshot"], payload["volume"]
        try:
            update = await self.driver.create_snapshot(snapshot, volume)
        except VolumeDriverError as err:
            LOG.warning("snapshot %s: create failed: %s", snapshot["id"], err.message)
            await self.bus.cast(rpc.WORKER_TOPIC, "snapshot_failed", {
                "snapshot_id": snapshot["id"], "host": self.host, "action": "create", "message": err.message})
            return
        await self.bus.cast(rpc.WORKER_TOPIC, "snapshot_created", {
            "snapshot_id": snapshot["id"], "host": self.host, "model_update": update or {}})

    async def delete_snapshot(self, payload: dict) -> None:
        snapshot, volume = payload["snapshot"], payload["volume"]
        try:
            await self.driver.delete_snapshot(snapshot, volume)
        except VolumeDriverError as err:
            LOG.warning("snapshot %s: delete failed: %s", snapshot["id"], err.message)
            await self.bus.cast(rpc.WORKER_TOPIC, "snapshot_failed", {
                "snapshot_id": snapshot["id"], "host": self.host, "action": "delete", "message": err.message})
            return
        await self.bus.cast(rpc.WORKER_TOPIC, "snapshot_deleted", {"snapshot_id": snapshot["id"], "host": self.host})

    async def _reconcile_exports(self, volumes: dict[str, dict], known: set[str]) -> None:
        """Exports whose attachment the database still has are served again if the backend lost
        them; those whose attachment it no longer has (deleted while this manager was down, or
        an os-initialize_connection never attached) are removed."""
        for volume_id, attachment_id in await self.driver.list_exports():
            if attachment_id in known:
                try:
                    await self.driver.ensure_export(volumes.get(volume_id, {"id": volume_id}), attachment_id)
                except VolumeDriverError as err:
                    LOG.error("could not serve export %s of volume %s again: %s", attachment_id,
                              volume_id, err.message)
                continue
            LOG.warning("export %s of volume %s has no attachment: removing it", attachment_id, volume_id)
            try:
                await self.driver.unexport(volumes.get(volume_id, {"id": volume_id}), attachment_id)
            except VolumeDriverError as err:
                LOG.error("could not remove orphan export %s: %s", attachment_id, err.message)

    async def export_volume(self, payload: dict) -> dict:
        """A call: the driver's connection info for one attachment's connector, or the error."""
        try:
            info = await self.driver.export(payload["volume"], payload["attachment_id"], payload["connector"])
        except VolumeDriverError as err:
            LOG.warning("volume %s: export failed: %s", payload["volume"]["id"], err.message)
            return {"error": err.message}
        return {"connection_info": info}

    async def unexport_volume(self, payload: dict) -> dict:
        try:
            await self.driver.unexport(payload["volume"], payload["attachment_id"])
        except VolumeDriverError as err:
            LOG.warning("volume %s: unexport failed: %s", payload["volume"]["id"], err.message)
            return {"error": err.message}
        return {}
