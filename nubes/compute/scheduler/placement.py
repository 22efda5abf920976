"""Talking to placement: allocation candidates, claims, releases, and what a provider has."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from nubes.core.exceptions import ServiceUnavailable
from nubes.compute.scheduler.spec import RequestSpec

LOG = logging.getLogger(__name__)
VERSION = {"OpenStack-API-Version": "placement 1.36"}


@dataclass
class Candidate:
    """One way to satisfy the request: the allocation to claim, and the root provider's room."""

    provider: str                                     # the compute node's provider (root) uuid
    allocations: dict[str, Any]                       # {rp_uuid: {"resources": {...}}}
    capacity: dict[str, int] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)

    def free(self, rc: str) -> int:
        return self.capacity.get(rc, 0) - self.used.get(rc, 0)


def query(spec: RequestSpec, limit: int) -> str:
    params = {"resources": ",".join(f"{rc}:{n}" for rc, n in sorted(spec.resources.items())),
              "limit": str(limit)}
    traits = spec.required_traits + [f"!{t}" for t in spec.forbidden_traits]
    if traits:
        params["required"] = ",".join(traits)
    return urlencode(params)


async def candidates(clients: Any, spec: RequestSpec, limit: int) -> list[Candidate]:
    r = await clients.request("placement", "GET", f"/allocation_candidates?{query(spec, limit)}",
                              headers=VERSION)
    if r.status_code != 200:
        LOG.warning("placement refused the candidates query for %s: %s %s", spec.instance_id,
                    r.status_code, r.text[:300])
        raise ServiceUnavailable(f"Placement refused the allocation candidates query ({r.status_code}).")
    body = r.json()
    summaries = body.get("provider_summaries", {})
    out = []
    for req in body.get("allocation_requests", []):
        allocs = req["allocations"]
        root = _root(allocs, summaries)
        summary = summaries.get(root, {})
        res = summary.get("resources", {})
        out.append(Candidate(root, allocs, {k: int(v["capacity"]) for k, v in res.items()},
                             {k: int(v["used"]) for k, v in res.items()}, list(summary.get("traits", []))))
    return out


def _root(allocs: dict[str, Any], summaries: dict[str, Any]) -> str:
    for rp in allocs:
        root = summaries.get(rp, {}).get("root_provider_uuid")
        if root:
            return root
    return next(iter(allocs))


async def claim(clients: Any, instance_id: str, cand: Candidate, project_id: str, user_id: str) -> bool:
    """Claim the candidate for the instance; False when placement says it no longer fits (409)."""
    body = {"allocations": cand.allocations, "project_id": project_id, "user_id": user_id,
            "consumer_generation": await _generation(clients, instance_id)}
    r = await clients.request("placement", "PUT", f"/allocations/{instance_id}", json=body, headers=VERSION)
    if r.status_code == 204:
        return True
    if r.status_code == 409:
        LOG.info("claim of %s on %s refused: %s", instance_id, cand.provider, r.text[:300])
        return False
    raise ServiceUnavailable(f"Placement refused the claim ({r.status_code}): {r.text[:200]}")


async def _generation(clients: Any, instance_id: str) -> int | None:
    r = await clients.request("placement", "GET", f"/allocations/{instance_id}", headers=VERSION)
    if r.status_code == 200 and r.json().get("allocations"):
        return r.json().get("consumer_generation")
    return None


async def release(clients: Any, instance_id: str) -> None:
    r = await clients.request("placement", "DELETE", f"/allocations/{instance_id}", headers=VERSION)
    if r.status_code not in (204, 404):
        raise ServiceUnavailable(f"Placement refused to remove allocations ({r.status_code}).")


@dataclass
class ProviderReport:
    """A provider's inventories, usages and traits (for saying why it was no candidate)."""

    uuid: str
    exists: bool = True
    inventories: dict[str, dict[str, Any]] = field(default_factory=dict)
    usages: dict[str, int] = field(default_factory=dict)
    traits: list[str] = field(default_factory=list)

    def free(self, rc: str) -> int:
        inv = self.inventories.get(rc)
        if inv is None:
            return 0
        capacity = int((inv["total"] - inv.get("reserved", 0)) * inv.get("allocation_ratio", 1.0))
        return capacity - self.usages.get(rc, 0)

    def max_unit(self, rc: str) -> int:
        inv = self.inventories.get(rc)
        return int(inv.get("max_unit", inv["total"])) if inv else 0


async def report(clients: Any, uuid: str) -> ProviderReport:
    base = f"/resource_providers/{uuid}"
    inv = await clients.request("placement", "GET", f"{base}/inventories", headers=VERSION)
    if inv.status_code == 404:
        return ProviderReport(uuid, exists=False)
    use = await clients.request("placement", "GET", f"{base}/usages", headers=VERSION)
    tr = await clients.request("placement", "GET", f"{base}/traits", headers=VERSION)
    return ProviderReport(uuid, True, inv.json().get("inventories", {}) if inv.status_code == 200 else {},
                          use.json().get("usages", {}) if use.status_code == 200 else {},
                          tr.json().get("traits", []) if tr.status_code == 200 else [])
