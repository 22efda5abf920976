"""What a compute agent reports: its heartbeat with the node's usage, and its placement provider.

The provider is named after the node and has the node's uuid; its inventories (VCPU,
MEMORY_MB, DISK_GB) come from the driver's ``node_resources()`` with the configured
allocation ratios and reservations, and are sent again whenever they change (and every
``REFRESH`` seconds, to heal a placement that lost them). While the compute service is
disabled the provider carries the ``COMPUTE_STATUS_DISABLED`` trait, as Nova's does, so the
scheduler's placement query skips it. Generation conflicts (someone else changed the
provider meanwhile) are retried on a fresh read.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from nubes.compute.drivers.base import NodeResources

LOG = logging.getLogger(__name__)

PLACEMENT = {"OpenStack-API-Version": "placement 1.20"}
DISABLED_TRAIT = "COMPUTE_STATUS_DISABLED"
REFRESH = 300.0
ATTEMPTS = 4


class PlacementError(Exception):
    pass


def flavor_usage(flavor: dict[str, Any] | None) -> tuple[int, int, int]:
    """(vcpus, memory_mb, disk_gb) an instance of ``flavor`` uses on its host."""
    fl = flavor or {}
    disk = int(fl.get("root_gb") or 0) + int(fl.get("ephemeral_gb") or 0) + math.ceil(int(fl.get("swap") or 0) / 1024)
    return int(fl.get("vcpus") or 0), int(fl.get("memory_mb") or 0), disk


def node_report(agent: Any, res: NodeResources, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``node`` of a ``service_report``: the node's totals and what the instances on it use."""
    conf = agent.conf
    vcpus = memory = disk = count = 0
    for rec in records:
        if rec.get("host") != agent.host:
            continue
        v, m, d = flavor_usage(rec.get("flavor"))
        vcpus, memory, disk, count = vcpus + v, memory + m, disk + d, count + 1
    return {"hypervisor_hostname": res.hypervisor_hostname, "uuid": agent.node_uuid,
            "vcpus": res.vcpus, "memory_mb": res.memory_mb, "local_gb": res.local_gb,
            "vcpus_used": vcpus, "memory_mb_used": memory + conf.reserved_host_memory_mb,
            "local_gb_used": disk + math.ceil(conf.reserved_host_disk_mb / 1024), "running_vms": count,
            "hypervisor_type": res.hypervisor_type, "hypervisor_version": res.hypervisor_version,
            "host_ip": res.host_ip, "cpu_info": res.cpu_info}


def inventories(conf: Any, res: NodeResources) -> dict[str, dict[str, Any]]:
    def inv(total: int, reserved: int, ratio: float) -> dict[str, Any]:
        return {"total": total, "reserved": min(reserved, total), "min_unit": 1, "max_unit": total,
                "step_size": 1, "allocation_ratio": ratio}

    out = {"VCPU": inv(res.vcpus, 0, conf.cpu_allocation_ratio),
           "MEMORY_MB": inv(res.memory_mb, conf.reserved_host_memory_mb, conf.ram_allocation_ratio),
           "DISK_GB": inv(res.local_gb, math.ceil(conf.reserved_host_disk_mb / 1024), conf.disk_allocation_ratio)}
    return {rc: v for rc, v in out.items() if v["total"] > 0}


class PlacementReporter:
    """Keeps the agent's resource provider in placement as the node is."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self._sent_inventories: dict[str, Any] | None = None
        self._sent_disabled: bool | None = None
        self._synced_at = 0.0

    def forget(self) -> None:
        self._sent_inventories = None
        self._sent_disabled = None

    async def sync(self, res: NodeResources, disabled: bool, *, force: bool = False) -> bool:
        """Bring the provider up to date; True when something was sent."""
        wanted = inventories(self.agent.conf, res)
        due = force or time.monotonic() - self._synced_at > REFRESH
        if not due and wanted == self._sent_inventories and disabled == self._sent_disabled:
            return False
        try:
            await self._ensure_provider(res.hypervisor_hostname)
            if due or wanted != self._sent_inventories:
                await self._put_inventories(wanted)
                self._sent_inventories = wanted
            if due or disabled != self._sent_disabled:
                await self._set_trait(DISABLED_TRAIT, disabled)
                self._sent_disabled = disabled
        except BaseException:
            self.forget()
            raise
        if due:
            self._synced_at = time.monotonic()
        return True

    # -- placement calls ----------------------------------------------------------------
    async def _call(self, method: str, path: str, **kw: Any) -> Any:
        return await self.agent.rt.clients.request("placement", method, path, headers=PLACEMENT, **kw)

    @property
    def _rp(self) -> str:
        return f"/resource_providers/{self.agent.node_uuid}"

    async def _ensure_provider(self, name: str) -> None:
        r = await self._call("GET", self._rp)
        if r.status_code == 200:
            if r.json().get("name") != name:
                await self._rename(name)
            return
        if r.status_code != 404:
            raise PlacementError(f"placement answered {r.status_code} for provider {self.agent.node_uuid}: "
                                 f"{r.text[:200]}")
        r = await self._call("POST", "/resource_providers", json={"name": name, "uuid": self.agent.node_uuid})
        if r.status_code in (200, 201):
            LOG.info("created resource provider %s (%s) in placement", name, self.agent.node_uuid)
            return
        if r.status_code == 409 and (await self._call("GET", self._rp)).status_code == 200:
            return          # created meanwhile (another of our reports)
        raise PlacementError(f"cannot create resource provider {name} ({self.agent.node_uuid}): "
                             f"{r.status_code} {r.text[:300]}")

    async def _rename(self, name: str) -> None:
        for _ in range(ATTEMPTS):
            r = await self._call("GET", self._rp)
            body = r.json()
            r = await self._call("PUT", self._rp, json={"name": name, "parent_provider_uuid":
                                                        body.get("parent_provider_uuid")})
            if r.status_code == 200:
                return
            if r.status_code != 409:
                break
        raise PlacementError(f"cannot rename resource provider {self.agent.node_uuid} to {name}")

    async def _put_inventories(self, wanted: dict[str, Any]) -> None:
        path = f"{self._rp}/inventories"
        for _ in range(ATTEMPTS):
            r = await self._call("GET", path)
            if r.status_code != 200:
                raise PlacementError(f"placement answered {r.status_code} for {path}")
            body = r.json()
            if _same_inventories(body.get("inventories") or {}, wanted):
                return
            r = await self._call("PUT", path, json={
                "resource_provider_generation": body["resource_provider_generation"], "inventories": wanted})
            if r.status_code == 200:
                LOG.info("inventories of %s in placement: %s", self.agent.node,
                         {rc: v["total"] for rc, v in wanted.items()})
                return
            if r.status_code != 409:
                break
            LOG.debug("generation conflict setting inventories of %s; retrying", self.agent.node)
        raise PlacementError(f"cannot set the inventories of {self.agent.node}: {r.status_code} {r.text[:300]}")

    async def _set_trait(self, trait: str, present: bool) -> None:
        path = f"{self._rp}/traits"
        for _ in range(ATTEMPTS):
            r = await self._call("GET", path)
            if r.status_code != 200:
                raise PlacementError(f"placement answered {r.status_code} for {path}")
            body = r.json()
            traits = set(body.get("traits") or [])
            if (trait in traits) == present:
                return
            traits = traits | {trait} if present else traits - {trait}
            r = await self._call("PUT", path, json={
                "resource_provider_generation": body["resource_provider_generation"], "traits": sorted(traits)})
            if r.status_code == 200:
                LOG.info("%s trait %s on %s", "set" if present else "removed", trait, self.agent.node)
                return
            if r.status_code != 409:
                break
        raise PlacementError(f"cannot update the traits of {self.agent.node}: {r.status_code} {r.text[:300]}")


def _same_inventories(have: dict[str, Any], wanted: dict[str, Any]) -> bool:
    if set(have) != set(wanted):
        return False
    return all(all(have[rc].get(k) == v for k, v in inv.items()) for rc, inv in wanted.items())
