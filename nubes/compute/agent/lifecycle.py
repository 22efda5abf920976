"""Agent handlers for an instance's life: build and run it, terminate it.

A build: the instance goes to ``networking`` (refused if a delete started meanwhile), its
ports are created (or the user's bound) on this host through the network API, the image
record is fetched, the driver spawns the guest, and the conductor hears ``active``. Any
failure undoes what was done (guest, ports) and casts ``build_failed`` so the conductor can
reschedule. A build and a terminate of one instance never run at once on a host.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.exceptions import ServiceUnavailable
from nubes.compute.drivers.base import DriverError, InstanceNotFoundInDriver
from nubes.compute.service import server_ports
from nubes.compute.service.server_ports import PortError

LOG = logging.getLogger(__name__)
BUILD_EVENT = "compute_build_and_run_instance"
TERMINATE_EVENT = "compute_terminate_instance"


class BuildAborted(Exception):
    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


class Lifecycle:
    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    @property
    def clients(self) -> Any:
        return self.agent.rt.clients

    async def _update(self, iid: str, expected: Any, updates: dict[str, Any],
                      event: dict[str, Any] | None = None) -> bool:
        # A build of this host: refused once the instance is no longer building here (deleted, or
        # rescheduled to another host after this one was taken for dead, or a message seen twice).
        payload: dict[str, Any] = {"instance_id": iid, "expected_task_state": expected, "updates": updates,
                                   "expected_vm_state": "building", "expected_host": self.agent.host}
        if event:
            payload["action_event"] = {"action": "create", "host": self.agent.host, **event}
        reply = await self.agent.call_conductor("instance_update", payload)
        return bool(reply and reply.get("updated"))

    async def build_and_run_instance(self, payload: dict) -> None:
        iid = payload["instance_id"]
        rec = dict(payload["instance"])
        async with self.locks[iid]:
            if not await self._update(iid, [None], {"task_state": "networking"}, {"event": BUILD_EVENT}):
                LOG.info("build of %s on %s skipped: it was deleted or is no longer building", iid,
                         self.agent.host)
                return
            network_info: list[dict[str, Any]] = []
            try:
                network_info = await self._plug(rec)
                rec["network_info"] = network_info
                if not await self._update(iid, "networking", {"task_state": "spawning",
                                                              "network_info": network_info}):
                    await self._undo(rec, network_info, spawned=False)
                    return
                image = await self._image(rec)
                await self._spawn(rec, image, network_info, payload.get("admin_password"))
            except Exception as e:
                # A failure the build foresaw (BuildAborted), or a bug: either way the instance must
                # not stay in BUILD, so the conductor hears of it and may try another host.
                if isinstance(e, BuildAborted):
                    LOG.warning("build of %s on %s failed: %s", iid, self.agent.host, e.reason)
                    reason, retryable = e.reason, e.retryable
                else:
                    LOG.exception("build of %s on %s failed unexpectedly", iid, self.agent.host)
                    reason, retryable = f"{type(e).__name__}: {e}", True
                await self._undo(rec, network_info, spawned=True)
                await self.agent.cast_conductor("build_failed", {
                    "instance_id": iid, "host": self.agent.host, "reason": reason, "retryable": retryable})
                return
            power = await self._power(iid)
            # network_info was stored at spawning; not sent again, so a floating IP the network
            # service told of meanwhile (an external event refreshed the cache) stays
            done = await self._update(iid, "spawning", {
                "vm_state": "active", "task_state": None, "power_state": power,
                "launched_at": utcnow().isoformat()},
                {"event": BUILD_EVENT, "result": "Success"})
            if not done:       # deleted while it was being built: leave nothing behind
                LOG.info("instance %s was deleted while it was built on %s; removing it", iid, self.agent.host)
                await self._undo(rec, network_info, spawned=True)
                return
            LOG.info("instance %s spawned on %s", iid, self.agent.host)

    async def _plug(self, rec: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            vifs, _made = await server_ports.plug(self.clients, rec, self.agent.host)
        except PortError as e:
            raise BuildAborted(e.message, e.retryable) from None
        except ServiceUnavailable as e:
            raise BuildAborted(e.message, True) from None
        return vifs

    async def _image(self, rec: dict[str, Any]) -> dict[str, Any]:
        if not rec.get("image_ref"):
            # volume-backed: the root volume's image metadata, as the API summarised it (Nova's
            # image meta of a volume), tells the driver which kernel and ramdisk to boot
            return dict(rec.get("image") or {})
        try:
            r = await self.clients.request("image", "GET", f"/v2/images/{rec['image_ref']}")
        except ServiceUnavailable as e:
            raise BuildAborted(e.message, True) from None
        if r.status_code != 200:
            raise BuildAborted(f"Image {rec['image_ref']} could not be found.", False)
        return r.json()

    async def _spawn(self, rec: dict[str, Any], image: dict[str, Any], network_info: list[dict[str, Any]],
                     admin_password: str | None) -> None:
        try:
            await self.agent.driver.spawn(rec, image, network_info, admin_password=admin_password,
                                          block_devices=rec.get("block_devices"))
        except DriverError as e:
            raise BuildAborted(e.message, e.retryable) from None

    async def _power(self, iid: str) -> int:
        try:
            return int((await self.agent.driver.get_info(iid)).power_state)
        except DriverError:
            return 0

    async def _undo(self, rec: dict[str, Any], network_info: list[dict[str, Any]], *, spawned: bool) -> None:
        if spawned:
            try:
                await self.agent.driver.destroy(rec, network_info)
            except DriverError as e:
                LOG.warning("removing the failed guest %s on %s: %s", rec["id"], self.agent.host, e.message)
        # Only the ports of this build: after a reschedule the instance's other ports are another host's.
        await server_ports.unplug(self.clients, rec["id"], keep=server_ports.preserved(rec),
                                  only=[v["id"] for v in network_info if v.get("id")])

    async def terminate_instance(self, payload: dict) -> None:
        iid = payload["instance_id"]
        rec = dict(payload.get("instance") or {"id": iid})
        async with self.locks[iid]:
            try:
                await self.agent.driver.destroy(rec, rec.get("network_info") or [])
            except InstanceNotFoundInDriver:
                pass
            except DriverError as e:
                LOG.error("terminating %s on %s failed: %s", iid, self.agent.host, e.message)
                await self.agent.call_conductor("instance_update", {
                    "instance_id": iid, "updates": {"vm_state": "error", "task_state": None},
                    "action_event": {"action": "delete", "event": TERMINATE_EVENT, "host": self.agent.host,
                                     "result": "Error", "traceback": e.message}})
                return
            await server_ports.unplug(self.clients, iid, keep=server_ports.preserved(rec))
        self.locks.pop(iid, None)
        await self.agent.cast_conductor("instance_destroyed", {"instance_id": iid, "host": self.agent.host})


def handlers(agent: Any, life: Lifecycle | None = None) -> dict[str, Any]:
    life = life or Lifecycle(agent)
    return {"build_and_run_instance": life.build_and_run_instance,
            "terminate_instance": life.terminate_instance}
