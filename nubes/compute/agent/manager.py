"""The compute agent of one host: serves ``compute.agent.<host>`` and keeps the host reported.

``ComputeAgent(rt, host, driver)`` runs, once started:

- the bus handlers of ``lifecycle`` (building, running and removing instances) and of
  ``host_handlers`` (console output, diagnostics, uptime, enabled state);
- the heartbeat: every ``report_interval`` a ``service_report`` call to the conductor with
  the node's resources and usage, whose answer says whether the service is disabled or
  forced down; after each, the placement provider is brought up to date (``reporting``);
- the reconcile loop (``reconciler``): power state sync and orphan guests;
- at start, before it serves: builds a previous run left half done go back to the conductor
  (``recovery``); once it serves, its other unfinished work is resumed (``resume``).

The node's uuid is stable across restarts (uuid5 of the host name): it is the compute
node's uuid and its placement resource provider's. A restarted agent finds the guests its
driver still runs and reconciles them with what the conductor knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from nubes.compute import rpc
from nubes.compute.agent import actions, host_handlers, lifecycle, recovery
from nubes.compute.agent.reconciler import HostReconciler
from nubes.compute.agent.reporting import PlacementReporter, node_report
from nubes.compute.agent.resume import Resumer
from nubes.compute.drivers.base import ComputeDriver, NodeResources

LOG = logging.getLogger(__name__)

BINARY = "nova-compute"
# Fixed namespace of compute node uuids: uuid5(NODE_NAMESPACE, host).
NODE_NAMESPACE = uuid.UUID("0b8c2e34-4f1e-5a7d-9c3b-6e0d1f2a3b4c")


def node_uuid_of(host: str) -> str:
    return str(uuid.uuid5(NODE_NAMESPACE, host))


class ComputeAgent:
    def __init__(self, rt: Any, host: str, driver: ComputeDriver, *, bus: Any = None) -> None:
        self.rt = rt
        self.host = host
        self.driver = driver
        self.conf = rt.service_conf
        # The bus this agent serves on: the runtime's, or its own connection (which stop() closes,
        # so a test can take one host of a cloud away).
        self.bus = bus or rt.bus
        self.node = host
        self.node_uuid = node_uuid_of(host)
        self.resources: NodeResources | None = None
        self.disabled = False
        self.forced_down = False
        self.disabled_reason: str | None = None
        self.instances: dict[str, dict[str, Any]] = {}     # the conductor's records, last heard
        self.reporter = PlacementReporter(self)
        self.reconciler = HostReconciler(self)
        self.resumer = Resumer(self)
        self.reports = 0                                   # heartbeats the conductor answered
        self.serving = False                               # its topic is served (agent.recovery)
        self._tasks: list[asyncio.Task] = []
        self._failing: dict[str, bool] = {}
        self._table: dict[str, Any] | None = None
        self.life: Any = None
        self.acts: Any = None
        self.move_steps: Any = None

    def __repr__(self) -> str:
        return f"<ComputeAgent {self.host}>"

    # -- talking to the conductor -------------------------------------------------------
    async def call_conductor(self, method: str, payload: dict, timeout: float | None = None) -> Any:
        topic = rpc.CONDUCTOR_REPORT_TOPIC if method in rpc.REPORT_METHODS else rpc.CONDUCTOR_AGENTS_TOPIC
        return await self.bus.call(topic, method, payload,
                                   timeout=timeout if timeout is not None else self.conf.rpc_timeout)

    async def cast_conductor(self, method: str, payload: dict) -> None:
        await self.bus.cast(rpc.CONDUCTOR_AGENTS_TOPIC, method, payload)

    # -- running --------------------------------------------------------------------------
    def handlers(self) -> dict[str, Any]:
        """The agent's one handler table; its recovery (``resume``) works through the same objects,
        so it shares their per-instance locks and sees what they are doing."""
        if self._table is None:
            self.life = lifecycle.Lifecycle(self)
            self.acts, self.move_steps, table = actions.build(self)
            self._table = {**host_handlers.handlers(self), **lifecycle.handlers(self, self.life), **table}
        return self._table

    def busy(self, iid: str) -> bool:
        """Whether a handler of this agent is working on (or waiting to work on) the instance."""
        self.handlers()
        return any(lock.locked() for lock in (self.life.locks.get(iid), self.acts.locks.get(iid))
                   if lock is not None)

    async def start(self) -> None:
        await self.driver.init_host()
        self.resources = await self.driver.node_resources()
        self.node = self.resources.hypervisor_hostname
        self._tasks = [asyncio.create_task(self._heartbeats(), name=f"compute-heartbeat-{self.host}"),
                       asyncio.create_task(self.reconciler.run(), name=f"compute-reconcile-{self.host}")]
        # Builds a previous run left half done go back to the conductor before this run serves.
        await recovery.serve_when_recovered(self)
        LOG.info("compute agent %s (node %s, %s) serving %s with %s guests", self.host, self.node,
                 self.node_uuid, rpc.agent_topic(self.host), len(await self.driver.list_instances()))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.bus is not self.rt.bus:
            await self.bus.close()

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    async def _heartbeats(self) -> None:
        while True:
            await self._quietly("heartbeat", self.report_once)
            await asyncio.sleep(self.conf.report_interval)

    async def _quietly(self, what: str, fn: Any) -> None:
        """Run ``fn``; log its failure once per failure streak (it is retried by the caller)."""
        try:
            await fn()
        except asyncio.CancelledError:
            raise
        except Exception as e:
            if not self._failing.get(what):
                LOG.warning("compute agent %s: %s failed (%s: %s); retrying every %gs", self.host, what,
                            type(e).__name__, e, self.conf.report_interval)
            self._failing[what] = True
        else:
            if self._failing.pop(what, False):
                LOG.info("compute agent %s: %s works again", self.host, what)

    async def report_once(self) -> None:
        """One heartbeat: usage from the conductor's records, the report, then placement."""
        reply = await self.call_conductor("instances_on_host", {"host": self.host})
        records = reply.get("instances") or []
        self.instances = {r["id"]: r for r in records}
        self.resources = await self.driver.node_resources()
        self.node = self.resources.hypervisor_hostname
        answer = await self.call_conductor("service_report", {
            "host": self.host, "binary": BINARY, "node": node_report(self, self.resources, records)})
        self.reports += 1
        self.forced_down = bool(answer.get("forced_down"))
        self.disabled_reason = answer.get("disabled_reason")
        self.disabled = bool(answer.get("disabled"))
        if answer.get("new"):
            self.reporter.forget()
        await self._quietly("placement report", self.sync_placement)

    async def sync_placement(self, *, force: bool = False) -> None:
        if self.resources is None:
            self.resources = await self.driver.node_resources()
        await self.reporter.sync(self.resources, self.disabled, force=force)

    async def set_disabled(self, disabled: bool) -> None:
        self.disabled = disabled
        await self.sync_placement()
