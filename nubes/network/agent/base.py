"""What every data-plane agent shares: its settings, the ``network.server`` calls, the host's desired
state (one fetch shared by the agents of a host), heartbeats and status reports.

The desired state is ``get_host_state``'s answer. Events only mark it stale and ask for a
resync (debounced, so a burst of changes costs one fetch); a full resync also runs every
``resync_interval`` seconds, so a lost event costs at most that long.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.reconcile import Reconciler

LOG = logging.getLogger(__name__)

SERVER_TOPIC = "network.server"


@dataclass
class AgentSettings:
    """One host's agent settings (from ``[network]``; tests make several hosts in one process)."""

    host: str
    state_path: Path
    netns: str | None = None                   # the "host" namespace (None: this process's own)
    interface_mappings: dict[str, str] = field(default_factory=dict)
    local_ip: str = ""
    vxlan_port: int = 4789
    resync_interval: float = 30.0
    report_interval: float = 30.0
    device_poll_interval: float = 1.0
    availability_zone: str = "nova"
    dhcp_lease_duration: int = 86400
    dns_domain: str = "openstacklocal"
    dnsmasq_dns_servers: tuple[str, ...] = ()
    enable_isolated_metadata: bool = True
    min_rtr_adv_interval: float = 30.0
    max_rtr_adv_interval: float = 100.0
    metadata_url: str = "http://127.0.0.1:8775"
    metadata_secret: str = ""
    rpc_timeout: float = 30.0


class ServerApi:
    """The ``network.server`` calls an agent makes."""

    def __init__(self, bus: Any, timeout: float = 30.0) -> None:
        self.bus, self.timeout = bus, timeout

    async def call(self, method: str, **payload: Any) -> Any:
        return await self.bus.call(SERVER_TOPIC, method, payload, timeout=self.timeout)

    async def host_state(self, host: str) -> dict[str, Any]:
        return await self.call("get_host_state", host=host)

    async def port_status(self, port_id: str, status: str) -> bool:
        return bool((await self.call("update_port_status", port_id=port_id, status=status)).get("found"))

    async def floatingip_status(self, fip_id: str, status: str) -> bool:
        return bool((await self.call("update_floatingip_status", floatingip_id=fip_id, status=status)).get("found"))


class HostStateSource:
    """The host's desired state: fetched when stale, one fetch at a time shared by every caller."""

    def __init__(self, server: ServerApi, host: str) -> None:
        self.server, self.host = server, host
        self.snapshot: dict[str, Any] | None = None
        self.fetches = 0                      # how many answers have been received
        self._wanted = 0                      # bumped by invalidate()
        self._have = -1                       # the generation the snapshot answers
        self._inflight: asyncio.Task[dict[str, Any]] | None = None
        self._inflight_gen = -1
        self.fetched_at = 0.0

    def invalidate(self) -> None:
        self._wanted += 1

    async def get(self, max_age: float | None = None) -> dict[str, Any]:
        stale = self.snapshot is None or self._have < self._wanted or (
            max_age is not None and time.monotonic() - self.fetched_at > max_age)
        if not stale:
            assert self.snapshot is not None
            return self.snapshot
        if self._inflight is None or self._inflight_gen < self._wanted:
            self._inflight_gen = self._wanted
            self._inflight = asyncio.create_task(self._fetch(self._wanted), name=f"host-state-{self.host}")
        return await asyncio.shield(self._inflight)

    async def current(self) -> dict[str, Any]:
        """The latest snapshot, fetched only when there is none (reconciling one key never refetches:
        a resync, which events ask for, does)."""
        if self.snapshot is None:
            return await self.get()
        return self.snapshot

    async def _fetch(self, generation: int) -> dict[str, Any]:
        started = time.monotonic()
        snap = await self.server.host_state(self.host)
        self.snapshot, self._have, self.fetched_at = snap, max(self._have, generation), started
        self.fetches += 1
        return snap


class OwnReports:
    """Status reports this host made whose ``network.port.update`` echo has not come back yet.

    That echo announces nothing new, so it is no reason to resync (100 ports going ACTIVE are not
    100 resyncs). A report is expected *before* its call is made (the server publishes the echo
    before it answers), and an expectation lapses after ``ttl`` seconds, so an echo that never
    comes (a lost notification, a failed call) cannot swallow a later real change of the port.
    """

    def __init__(self, ttl: float = 10.0) -> None:
        self.ttl = ttl
        self._pending: dict[str, list[float]] = {}

    def expect(self, port_id: str) -> None:
        self._pending.setdefault(port_id, []).append(time.monotonic() + self.ttl)

    def forget(self, port_id: str) -> None:
        """The call failed: its echo may or may not come, and an extra resync is harmless."""
        waiting = self._pending.get(port_id)
        if waiting:
            waiting.pop()
            if not waiting:
                del self._pending[port_id]

    def is_echo(self, port_id: str) -> bool:
        """Whether an update event of the port is the echo of one of our reports (consumes it)."""
        now = time.monotonic()
        waiting = [t for t in self._pending.pop(port_id, []) if t > now]
        if not waiting:
            return False
        waiting.pop(0)
        if waiting:
            self._pending[port_id] = waiting
        return True

    def __len__(self) -> int:
        return len(self._pending)


@dataclass
class AgentContext:
    settings: AgentSettings
    server: ServerApi
    source: HostStateSource
    # kick(agent_name, key): queue a key of another agent of this host (DHCP -> L2 once its device exists).
    kick: Callable[[str, Hashable], None] = lambda name, key: None
    own_reports: OwnReports = field(default_factory=OwnReports)
    # Router ports the L3 agent has wired (device, addresses, routes, NAT, advertisements): the L2
    # agent reports a router's port ACTIVE only once it is here and plugged.
    l3_wired: set[str] = field(default_factory=set)


class HostAgent(Reconciler):
    """A reconciler of one host's data plane, with heartbeats and status reports."""

    agent_type = ""
    binary = ""
    topic = "N/A"
    events: tuple[str, ...] = ()          # event type prefixes that make this agent look again
    min_resync_gap = 0.5

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.settings = ctx.settings
        self.server = ctx.server
        self.source = ctx.source
        self.resync = ctx.settings.resync_interval
        self.retry_max = min(self.retry_max, max(5.0, ctx.settings.resync_interval))
        self._tasks: list[asyncio.Task[Any]] = []
        self._resync_task: asyncio.Task[None] | None = None
        self._started = False
        self._reported: dict[str, tuple[str, int]] = {}
        self._key_locks: dict[Hashable, asyncio.Lock] = {}
        self._resync_wanted = False
        self._last_resync = 0.0

    # -- what subclasses provide -------------------------------------------------------------
    async def converge(self, key: Hashable) -> None:
        """Make one key's kernel state the desired one (idempotent)."""
        raise NotImplementedError

    async def reconcile(self, key: Hashable) -> None:
        # One key at a time: a key queued again while it converges waits for the first pass.
        async with self._key_locks.setdefault(key, asyncio.Lock()):
            await self.converge(key)

    def configurations(self) -> dict[str, Any]:
        return {}

    async def background(self) -> list[Any]:
        """Extra coroutines to run beside the reconcile loop (device polls)."""
        return []

    async def shutdown(self) -> None:
        """Release what the agent holds in this process (sockets), never the data plane itself."""

    # -- running -----------------------------------------------------------------------------
    async def start(self) -> None:
        self._started = True
        self._tasks = [asyncio.create_task(self.run(), name=f"{self.name}-{self.settings.host}"),
                       asyncio.create_task(self._heartbeats(), name=f"{self.name}-heartbeat")]
        self._tasks += [asyncio.create_task(c) for c in await self.background()]

    async def stop(self) -> None:
        self._started = False
        tasks = [*self._tasks, *([self._resync_task] if self._resync_task else [])]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        await self.shutdown()

    def on_event(self, event_type: str) -> None:
        if self._started and any(event_type.startswith(p) for p in self.events):
            self.request_resync()

    def request_resync(self) -> None:
        """A full resync soon: once however often it is asked for meanwhile, at most one per
        ``min_resync_gap`` seconds, and never one lost to a resync already under way."""
        if not self._started:
            return
        self._resync_wanted = True
        if self._resync_task is None or self._resync_task.done():
            self._resync_task = asyncio.create_task(self._resync_soon(), name=f"{self.name}-resync-soon")

    async def _resync_soon(self) -> None:
        while self._resync_wanted:
            await asyncio.sleep(max(0.05, self._last_resync + self.min_resync_gap - time.monotonic()))
            self._resync_wanted = False
            self._last_resync = time.monotonic()
            try:
                await self.resync_all()
            except Exception:
                LOG.exception("%s: resync after an event failed; the periodic one will catch up", self.name)

    async def _heartbeats(self) -> None:
        start_flag = True
        while True:
            try:
                await self.server.call("report_state", agent_state={
                    "agent_type": self.agent_type, "binary": self.binary, "topic": self.topic,
                    "host": self.settings.host, "availability_zone": self.settings.availability_zone,
                    "configurations": self.configurations(), "start_flag": start_flag})
                start_flag = False
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - logged; the loop goes on
                LOG.warning("%s on %s: heartbeat failed: %s", self.agent_type, self.settings.host, exc)
            await asyncio.sleep(self.settings.report_interval)

    # -- status reports ------------------------------------------------------------------------
    async def report_port(self, port: dict[str, Any], status: str) -> None:
        """Tell the server a port's status when it differs from what the server last said."""
        own = self.ctx.own_reports
        await self._report(port["id"], port.get("status"), status, self.server.port_status,
                           before=lambda: own.expect(port["id"]), failed=lambda: own.forget(port["id"]))

    async def report_floatingip(self, fip: dict[str, Any], status: str) -> None:
        await self._report(fip["id"], fip.get("status"), status, self.server.floatingip_status)

    async def _report(self, ident: str, known: str | None, status: str, call: Any,
                      before: Callable[[], None] = lambda: None, failed: Callable[[], None] = lambda: None) -> bool:
        sent = self._reported.get(ident)
        if known == status:
            self._reported.pop(ident, None)
            return False
        if sent is not None and sent[0] == status and sent[1] >= self.source.fetches:
            return False  # reported; the snapshot saying otherwise predates the report
        before()
        try:
            await call(ident, status)
        except asyncio.CancelledError:
            failed()
            raise
        except Exception as exc:  # noqa: BLE001 - logged; the loop goes on
            failed()
            LOG.warning("%s on %s: could not report %s %s: %s", self.agent_type, self.settings.host, ident,
                        status, exc)
            return False
        self._reported[ident] = (status, self.source.fetches + 1)
        return True
