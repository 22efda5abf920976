"""Hypervisors (compute nodes) as their agents report them, with their services' state; statistics;
a host's uptime asked of its agent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.exceptions import CloudError
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import ComputeNode, Service
from nubes.compute.db.queries import hosts as q
from nubes.compute.service.hosts import is_up

LOG = logging.getLogger(__name__)

UPTIME_TIMEOUT = 5.0


@dataclass
class HypervisorView:
    node: ComputeNode
    service: Service
    up: bool
    current_workload: int = 0
    servers: list[tuple[str, str]] | None = None

    @property
    def free_ram_mb(self) -> int:
        return self.node.memory_mb - self.node.memory_mb_used

    @property
    def free_disk_gb(self) -> int:
        return self.node.local_gb - self.node.local_gb_used


class Hypervisors:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _views(self, s: Any, nodes: list[ComputeNode], with_servers: bool) -> list[HypervisorView]:
        hosts = sorted({n.host for n in nodes})
        services = await q.compute_services(s, hosts)
        busy = await q.busy_counts(s, hosts)
        servers = await q.servers_of_hosts(s, hosts) if with_servers else {}
        now, down = utcnow(), self.state.conf.service_down_time
        out = []
        for n in nodes:
            svc = services.get(n.host)
            if svc is None:     # its service was deleted: Nova leaves such nodes out
                continue
            out.append(HypervisorView(n, svc, is_up(svc, down, now), busy.get(n.host, 0),
                                      servers.get(n.host) if with_servers else None))
        return out

    async def list(self, *, pattern: str | None = None, limit: int | None = None, marker: str | None = None,
                   by_uuid: bool = False, with_servers: bool = False) -> list[HypervisorView]:
        async with self.state.db.reader() as s:
            after = None
            if marker is not None:
                row = await self._find(s, marker, by_uuid)
                if row is None:
                    raise exc.BadRequest(f"marker [{marker}] not found")
                after = row.id
            nodes = await q.nodes(s, pattern=pattern, after_id=after, limit=limit)
            if pattern is not None and not nodes:
                raise exc.NotFound(f"No hypervisor matching '{pattern}' could be found.")
            return await self._views(s, nodes, with_servers)

    @staticmethod
    async def _find(s: Any, ident: str, by_uuid: bool) -> ComputeNode | None:
        if by_uuid:
            return await q.node_by_uuid(s, ident)
        try:
            return await q.node_by_id(s, int(ident))
        except ValueError:
            return None

    async def show(self, ident: str, *, by_uuid: bool, with_servers: bool = False) -> HypervisorView:
        async with self.state.db.reader() as s:
            node = await self._find(s, ident, by_uuid)
            views = await self._views(s, [node], with_servers) if node is not None else []
        if not views:
            raise exc.HypervisorNotFound(ident)
        return views[0]

    async def statistics(self) -> dict[str, int]:
        """Sums over the hypervisors whose compute service is enabled, as Nova counts them."""
        views = [v for v in await self.list() if not v.service.disabled]
        total = {k: 0 for k in ("count", "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used",
                                "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload",
                                "running_vms", "disk_available_least")}
        for v in views:
            n = v.node
            total["count"] += 1
            for key in ("vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
                        "running_vms"):
                total[key] += getattr(n, key)
            total["free_ram_mb"] += v.free_ram_mb
            total["free_disk_gb"] += v.free_disk_gb
            total["disk_available_least"] += v.free_disk_gb
            total["current_workload"] += v.current_workload
        return total

    async def uptime(self, view: HypervisorView) -> str:
        """The host's uptime line from its agent; UptimeUnavailable when the host cannot say."""
        if not view.up:
            raise exc.UptimeUnavailable(view.node.host)
        try:
            reply = await self.state.bus.call(rpc.agent_topic(view.node.host), "get_host_uptime", {},
                                              timeout=UPTIME_TIMEOUT)
        except exc.UptimeUnavailable:
            raise
        except CloudError as e:
            LOG.info("uptime of %s unavailable: %s", view.node.host, e)
            raise exc.UptimeUnavailable(view.node.host) from None
        return str(reply.get("uptime"))
