"""Agent steps of a move (the conductor sends each and hears ``move_report`` back; see ``conductor.moves``).

- ``move_out`` (source): the driver readies the guest to leave (``migrate_to``: powered off for a
  cold move, running for a live one) → ``migrated`` with the driver's migration data. A failure
  brings the guest back here first.
- ``move_in`` (destination): the ports are bound to this host, the driver builds the guest from
  the data (``finish_migration``, with the new flavor for a resize) → ``finished``. A failure
  removes what was made here.
- ``move_cleanup`` (source): the move is confirmed (or the server deleted): ``confirm_migration``
  removes the copy left here → ``confirmed`` when asked to report.
- ``move_abort`` (destination): a revert (or a delete) removes the copy here → ``aborted``.
- ``move_back`` (source): the ports come back here and ``revert_migration`` restores the guest
  → ``reverted``.

A resize on one host (``allow_resize_to_same_host``) keeps its one guest: no copy is removed.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.exceptions import ServiceUnavailable
from nubes.compute.agent import actions_ports as ports
from nubes.compute.agent.actions import Actions, Job
from nubes.compute.drivers.base import DriverError, InstanceNotFoundInDriver

LOG = logging.getLogger(__name__)
# The task states a step's copy finds when the step is done or under way (it then does nothing).
LATER = {"move_out": ("resize_migrating", "resize_migrated", "resize_finish"),
         "move_in": ("resize_finish",)}


class MoveSteps:
    def __init__(self, acts: Actions) -> None:
        self.acts = acts
        self.agent = acts.agent

    def handlers(self) -> dict[str, Any]:
        return {"move_out": self.move_out, "move_in": self.move_in, "move_cleanup": self.move_cleanup,
                "move_abort": self.move_abort, "move_back": self.move_back}

    @property
    def driver(self) -> Any:
        return self.acts.driver

    def _job(self, p: dict) -> Job:
        return Job(dict(p.get("instance") or {"id": p["instance_id"]}), p.get("request_id"), p.get("action") or "",
                   {})

    async def report(self, p: dict, step: str, ok: bool, **extra: Any) -> None:
        await self.agent.cast_conductor("move_report", {
            "instance_id": p["instance_id"], "migration_id": p["migration"]["id"], "step": step, "ok": ok,
            "host": self.agent.host, "request_id": p.get("request_id"), "action": p.get("action"), **extra})

    @staticmethod
    def _same_host(p: dict) -> bool:
        m = p["migration"]
        return m.get("source_compute") == m.get("dest_compute")

    async def move_out(self, p: dict) -> None:
        job, m = self._job(p), p["migration"]
        live = m["kind"] == "live-migration"
        event, task = ("compute_live_migration", "migrating") if live else ("compute_resize_instance", "resize_prep")
        async with self.acts.locks[job.id]:
            reply = await self.acts.update_reply(job, task, {} if live else {"task_state": "resize_migrating"}, event)
            if not reply.get("updated"):
                if reply.get("task_state") in LATER["move_out"]:
                    return              # a copy of this step's message: the step is done or under way
                await self.report(p, "migrated", False, reason="the server changed before its move started")
                return
            await self.acts.notify("live_migration" if live else "resize", "start", job.rec)
            try:
                data = await self.driver.migrate_to(job.rec, m["dest_compute"], live=live)
            except DriverError as e:
                LOG.warning("move of %s from %s failed: %s", job.id, self.agent.host, e.message)
                await self._restore(job, power_on=not live and job.rec.get("vm_state") == "active")
                await self.acts.update(job, task if live else "resize_migrating", {}, event, result="Error",
                                       traceback=e.message)
                await self.report(p, "migrated", False, reason=e.message)
                return
            after = {} if live else {"task_state": "resize_migrated"}
            await self.acts.update(job, task if live else "resize_migrating", after, event, result="Success")
            if not live:
                await self.acts.notify("resize", "end", job.rec)
        await self.report(p, "migrated", True, data=data)

    async def _restore(self, job: Job, *, power_on: bool) -> None:
        try:
            await self.driver.revert_migration(job.rec, job.rec.get("network_info") or [], power_on=power_on)
        except DriverError as e:
            LOG.warning("restoring %s on %s after a failed move: %s", job.id, self.agent.host, e.message)

    async def move_in(self, p: dict) -> None:
        job, m = self._job(p), p["migration"]
        live = m["kind"] == "live-migration"
        event = "compute_post_live_migration_at_destination" if live else "compute_finish_resize"
        expected, task = ("migrating", {}) if live else ("resize_migrated", {"task_state": "resize_finish"})
        async with self.acts.locks[job.id]:
            reply = await self.acts.update_reply(job, expected, task, event)
            if not reply.get("updated"):
                if reply.get("task_state") in LATER["move_in"] or (
                        reply.get("task_state") is None and reply.get("vm_state") == "resized"):
                    return              # a copy of this step's message: the step is done or under way
                await self.report(p, "finished", False, reason="the server changed during its move")
                return
            await self.acts.notify("live_migration_post_dest" if live else "finish_resize", "start", job.rec)
            vifs = job.rec.get("network_info") or []
            try:
                vifs = await ports.bind(self.acts.clients, vifs, self.agent.host)
                await self.driver.finish_migration(job.rec, vifs, p.get("data") or {},
                                                   power_on=bool(p.get("power_on", True)))
            except (DriverError, ServiceUnavailable) as e:
                LOG.warning("move of %s to %s failed: %s", job.id, self.agent.host, e.message)
                if not self._same_host(p):
                    try:
                        await self.driver.destroy(job.rec, vifs)
                    except DriverError:
                        pass
                await self.report(p, "finished", False, reason=e.message)
                return
            power = await self.acts.power(job.id)
        await self.acts.notify("live_migration_post_dest" if live else "finish_resize", "end", job.rec)
        await self.report(p, "finished", True, power_state=power, network_info=vifs)

    async def move_cleanup(self, p: dict) -> None:
        job = self._job(p)
        event = p.get("event")
        async with self.acts.locks[job.id]:
            if event:
                await self.acts.update(job, ..., {}, event)
            ok, reason = True, None
            if not self._same_host(p):
                try:
                    await self.driver.confirm_migration(job.rec)
                except InstanceNotFoundInDriver:
                    pass
                except DriverError as e:
                    ok, reason = False, e.message
                    LOG.warning("removing the old copy of %s on %s failed: %s", job.id, self.agent.host, e.message)
        if p.get("report"):
            await self.report(p, "confirmed", ok, reason=reason)

    async def move_abort(self, p: dict) -> None:
        job = self._job(p)
        event = p.get("event")
        async with self.acts.locks[job.id]:
            if event:
                await self.acts.update(job, "resize_reverting", {}, event)
            ok, reason = True, None
            if not self._same_host(p):
                try:
                    await self.driver.destroy(job.rec, job.rec.get("network_info") or [])
                except DriverError as e:
                    ok, reason = False, e.message
            if event:
                await self.acts.update(job, "resize_reverting", {}, event, result="Success" if ok else "Error",
                                       traceback=reason)
        if p.get("report"):
            await self.report(p, "aborted", ok, reason=reason)

    async def move_back(self, p: dict) -> None:
        job = self._job(p)
        event = p.get("event")
        power_on = bool(p.get("power_on"))
        async with self.acts.locks[job.id]:
            if event:
                await self.acts.update(job, ..., {}, event)
            vifs = job.rec.get("network_info") or []
            ok, reason = True, None
            try:
                vifs = await ports.bind(self.acts.clients, vifs, self.agent.host)
                if self._same_host(p):
                    await self.driver.finish_migration(job.rec, vifs, {}, power_on=False)
                await self.driver.revert_migration(job.rec, vifs, power_on=power_on)
            except InstanceNotFoundInDriver as e:
                ok, reason = False, e.message
            except (DriverError, ServiceUnavailable) as e:
                ok, reason = False, e.message
            power = await self.acts.power(job.id)
        if ok and event:
            await self.acts.notify("resize.revert", "end", job.rec)
        if p.get("report"):
            await self.report(p, "reverted", ok, reason=reason, power_state=power, network_info=vifs)
