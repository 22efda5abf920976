"""Nova's os-hosts (below microversion 2.43): each host's services, and a compute host's resources
— its total, what its node reports in use now, the most its servers may take, and that per project."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute.db.queries import hosts as q
from nubes.compute.service.hosts import COMPUTE


class ComputeHostNotFound(exc.NotFound):
    code = "compute.compute_host_not_found"

    def __init__(self, host: str) -> None:
        super().__init__(f"Compute host {host} could not be found.")


class HostResources:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def hosts(self, zone: str | None) -> list[dict[str, str]]:
        """One entry per service: host, topic (``compute``, ``conductor`` ...) and zone."""
        views = await self.state.hosts.list_services()
        out = [{"host_name": sv.row.host, "service": sv.row.binary.removeprefix("nova-"), "zone": sv.zone}
               for sv in views]
        return [h for h in out if zone is None or h["zone"] == zone]

    async def check(self, host: str) -> None:
        async with self.state.db.reader() as s:
            if await q.service(s, host, COMPUTE) is None:
                raise ComputeHostNotFound(host)

    async def resources(self, host: str) -> list[dict[str, Any]]:
        async with self.state.db.reader() as s:
            if await q.service(s, host, COMPUTE) is None:
                raise ComputeHostNotFound(host)
            nodes = await q.nodes_of_host(s, host)
            instances = await q.instances_of_host(s, host)
        if not nodes:
            raise ComputeHostNotFound(host)

        def row(project: str, cpu: int, mem: int, disk: int) -> dict[str, Any]:
            return {"resource": {"host": host, "project": project, "cpu": cpu, "memory_mb": mem, "disk_gb": disk}}

        total = row("(total)", sum(n.vcpus for n in nodes), sum(n.memory_mb for n in nodes),
                    sum(n.local_gb for n in nodes))
        now = row("(used_now)", sum(n.vcpus_used for n in nodes), sum(n.memory_mb_used for n in nodes),
                  sum(n.local_gb_used for n in nodes))
        per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for i in instances:
            fl = i.flavor or {}
            used = per[i.project_id]
            used[0] += int(fl.get("vcpus") or 0)
            used[1] += int(fl.get("memory_mb") or 0)
            used[2] += int(fl.get("root_gb") or 0) + int(fl.get("ephemeral_gb") or 0)
        most = row("(used_max)", *(sum(u[k] for u in per.values()) for k in range(3)))
        return [total, now, most, *(row(p, *u) for p, u in sorted(per.items()))]

    async def set_enabled(self, host: str, enabled: bool) -> str:
        await self.state.hosts.update_by_host(host, COMPUTE, disabled=not enabled)
        return "enabled" if enabled else "disabled"
