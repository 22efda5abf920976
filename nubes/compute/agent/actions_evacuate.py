"""The destination's step of ``evacuate`` (``conductor.evacuate``): the server's ports are bound to
this host, the guest is spawned from the server's image (with the evacuation's admin password,
when one was given) and stopped when it was STOPPED or the request asked for it (2.95); the
conductor hears how it went (``evacuate_report``)."""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.exceptions import ServiceUnavailable
from nubes.compute.agent import actions_ports as ports
from nubes.compute.agent.actions import Actions, Job
from nubes.compute.drivers.base import DriverError

LOG = logging.getLogger(__name__)
EVENT = "compute_rebuild_instance"


class EvacuateSteps:
    def __init__(self, acts: Actions) -> None:
        self.acts = acts
        self.agent = acts.agent

    def handlers(self) -> dict[str, Any]:
        return {"evacuate": self.evacuate}

    async def _report(self, job: Job, **extra: Any) -> None:
        await self.agent.call_conductor("evacuate_report", {
            "instance_id": job.id, "migration_id": job.args.get("migration_id"), "host": self.agent.host,
            "request_id": job.request_id, **extra})

    async def evacuate(self, job: Job) -> None:
        rec = job.rec
        job.action = "evacuate"
        if not await self.acts.update(job, "rebuilding", {"task_state": "rebuild_spawning"}, EVENT,
                                      expected_host=self.agent.host):
            LOG.info("evacuation of %s to %s skipped: it changed meanwhile", job.id, self.agent.host)
            return
        await self.acts.notify("rebuild", "start", rec)
        stopped = bool(job.args.get("stopped")) or rec.get("vm_state") == "stopped"
        vifs = rec.get("network_info") or []
        try:
            vifs = await ports.bind(self.acts.clients, vifs, self.agent.host)
            await self.acts.driver.spawn(rec, rec.get("image") or {"id": rec.get("image_ref")}, vifs,
                                         admin_password=job.args.get("admin_password"),
                                         block_devices=rec.get("block_devices"))
            if stopped:
                await self.acts.driver.power_off(rec)
        except (DriverError, ServiceUnavailable) as e:
            LOG.warning("evacuation of %s to %s failed: %s", job.id, self.agent.host, e.message)
            await self._report(job, ok=False, reason=e.message, power_state=await self.acts.power(job.id),
                               network_info=vifs)
            await self.acts.notify("rebuild", "error", rec, message=e.message)
            return
        final = "stopped" if stopped else "active"
        await self._report(job, ok=True, vm_state=final, power_state=await self.acts.power(job.id),
                           network_info=vifs)
        await self.acts.notify("rebuild", "end", {**rec, "vm_state": final})
