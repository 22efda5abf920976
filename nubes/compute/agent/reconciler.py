"""The agent's reconcile loop: the guests the driver runs against the instances the conductor
places on this host.

Each key is an instance id, listed from both sides every ``sync_power_state_interval``:

- known to the conductor on this host, with no task under way: the guest's power state is
  reported when it changed (``instance_update`` with ``expected_task_state`` None, so an
  action that started meanwhile wins), and Nova's power-state sync applies — an ACTIVE
  instance whose guest stopped by itself becomes STOPPED; a STOPPED (or deleted) one whose
  guest runs is powered off;
- run by the driver but unknown to the conductor on this host (an orphan: its instance was
  deleted, or moved, while the agent was away): destroyed once it has stayed an orphan for
  ``orphan_grace`` seconds, with a warning;
- the other end of a move under way (the record's ``host`` is another host): left alone, the
  move owns both copies;
- with a task of this host under way that nothing changed for ``recovery_lease`` seconds and
  that no handler of this agent is working on (its message was lost): resumed (``resume``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Hashable, Iterable
from typing import Any

from nubes.core.reconcile import Reconciler
from nubes.compute.agent import resume
from nubes.compute.drivers.base import DriverError, InstanceNotFoundInDriver, PowerState

LOG = logging.getLogger(__name__)

NOSTATE, RUNNING, PAUSED, SHUTDOWN, CRASHED, SUSPENDED = (
    PowerState.NOSTATE, PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTDOWN, PowerState.CRASHED,
    PowerState.SUSPENDED)
SKIPPED_VM_STATES = {"building", "error", "shelved_offloaded"}


class HostReconciler(Reconciler):
    name = "compute-host"
    orphan_grace: float = 60.0

    def __init__(self, agent: Any) -> None:
        super().__init__()
        self.agent = agent
        self.resync = agent.conf.sync_power_state_interval
        self.records: dict[str, dict[str, Any]] = {}
        self.running: set[str] = set()
        self.orphans: dict[str, float] = {}        # instance id -> when first seen orphaned

    async def keys(self) -> Iterable[Hashable]:
        reply = await self.agent.call_conductor("instances_on_host", {"host": self.agent.host})
        self.records = {r["id"]: r for r in reply.get("instances") or []}
        self.running = set(await self.agent.driver.list_instances())
        for gone in set(self.orphans) - (self.running - set(self.records)):
            del self.orphans[gone]
        return sorted(set(self.records) | self.running)

    async def reconcile(self, key: Hashable) -> None:
        iid = str(key)
        record = self.records.get(iid)
        if record is None:
            if iid in self.running:
                await self._orphan(iid)
            return
        self.orphans.pop(iid, None)
        if record.get("task_state") is not None and self.agent.serving and resume.left_alone(
                record, float(self.agent.conf.recovery_lease)):
            await self.agent.resumer.resume(record)
            return
        if record.get("host") != self.agent.host or record.get("task_state") is not None:
            return
        if record.get("vm_state") in SKIPPED_VM_STATES:
            return
        power = NOSTATE
        if iid in self.running:
            try:
                power = PowerState((await self.agent.driver.get_info(iid)).power_state)
            except InstanceNotFoundInDriver:
                power = NOSTATE
        await self._sync_power_state(record, power)

    async def _sync_power_state(self, record: dict[str, Any], power: PowerState) -> None:
        iid, vm_state = record["id"], record.get("vm_state")
        updates: dict[str, Any] = {}
        if vm_state == "active":
            if power in (SHUTDOWN, CRASHED):
                LOG.warning("instance %s on %s shut down by itself: it is stopped now", iid, self.agent.host)
                updates["vm_state"] = "stopped"
            elif power == SUSPENDED:
                LOG.warning("instance %s on %s is suspended unexpectedly: stopping it", iid, self.agent.host)
                power = await self._power_off(record)
                updates["vm_state"] = "stopped"
            elif power == PAUSED:
                LOG.warning("instance %s on %s is paused unexpectedly; ignored", iid, self.agent.host)
            elif power == NOSTATE:
                LOG.warning("instance %s is unexpectedly not found on %s", iid, self.agent.host)
        elif vm_state == "stopped":
            if power not in (NOSTATE, SHUTDOWN, CRASHED):
                LOG.warning("instance %s on %s is not stopped: powering it off", iid, self.agent.host)
                power = await self._power_off(record)
        elif vm_state == "paused":
            if power in (SHUTDOWN, CRASHED):
                LOG.warning("paused instance %s on %s shut down by itself: it is stopped now", iid,
                            self.agent.host)
                updates["vm_state"] = "stopped"
        elif vm_state in ("soft-delete", "deleted"):
            if power not in (NOSTATE, SHUTDOWN):
                LOG.warning("instance %s on %s is not (soft-)deleted: powering it off", iid, self.agent.host)
                power = await self._power_off(record)
        if int(power) != int(record.get("power_state") or 0):
            updates["power_state"] = int(power)
        if not updates:
            return
        reply = await self.agent.call_conductor("instance_update", {
            "instance_id": iid, "expected_task_state": None, "updates": updates})
        if reply and reply.get("updated") is False:
            LOG.debug("power state sync of %s lost to an action that started meanwhile", iid)
            return
        record.update(updates)

    async def _power_off(self, record: dict[str, Any]) -> PowerState:
        try:
            await self.agent.driver.power_off(record)
        except InstanceNotFoundInDriver:
            return NOSTATE
        return PowerState((await self.agent.driver.get_info(record["id"])).power_state)

    async def _orphan(self, iid: str) -> None:
        now = time.monotonic()
        first = self.orphans.setdefault(iid, now)
        if now - first < self.orphan_grace:
            LOG.info("guest %s runs on %s but no instance of that id is on this host; destroying it if "
                     "it is still so in %.0fs", iid, self.agent.host, self.orphan_grace - (now - first))
            return
        LOG.warning("destroying orphan guest %s on %s: no instance of that id is on this host", iid,
                    self.agent.host)
        try:
            await self.agent.driver.destroy({"id": iid}, [])
        except DriverError as exc:
            LOG.error("destroying orphan guest %s on %s failed: %s", iid, self.agent.host, exc)
            raise
        self.orphans.pop(iid, None)
        self.running.discard(iid)
