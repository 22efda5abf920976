"""The state of each candidate host as the filters and weighers see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nubes.core.db.base import utcnow
from nubes.compute.db.queries import host_states as q
from nubes.compute.scheduler.placement import Candidate


@dataclass
class HostState:
    uuid: str                                   # the compute node's (and its provider's) uuid
    host: str
    node: str
    candidate: Candidate | None = None
    hypervisor_type: str = "fake"
    hypervisor_version: int = 0
    arch: str | None = None
    service_known: bool = False
    disabled: bool = False
    disabled_reason: str | None = None
    forced_down: bool = False
    up: bool = False
    silent_for: float | None = None             # seconds since the last heartbeat
    aggregates: list[dict[str, str]] = field(default_factory=list)
    zones: set[str] = field(default_factory=set)
    instances: int = 0

    def free(self, rc: str) -> int:
        return self.candidate.free(rc) if self.candidate else 0

    def capacity(self, rc: str) -> int:
        return self.candidate.capacity.get(rc, 0) if self.candidate else 0


def _age(seen: datetime | None, now: datetime) -> float | None:
    return None if seen is None else (now - seen).total_seconds()


async def load(s: Any, cands: list[Candidate], conf: Any) -> list[HostState]:
    """Host states for placement's candidates that compute knows as nodes (others are ignored)."""
    by_uuid = {c.provider: c for c in cands}
    nodes = await q.nodes(s, list(by_uuid))
    return await _states(s, nodes, by_uuid, conf)


async def load_all(s: Any, conf: Any) -> list[HostState]:
    return await _states(s, await q.nodes(s), {}, conf)


async def _states(s: Any, nodes: list[Any], by_uuid: dict[str, Candidate], conf: Any) -> list[HostState]:
    hosts = sorted({n.host for n in nodes})
    services = await q.services(s, hosts)
    aggs = await q.aggregates_by_host(s, hosts)
    counts = await q.instance_counts(s, hosts)
    now = utcnow()
    out = []
    for n in nodes:
        svc = services.get(n.host)
        seen = (svc.last_seen_up or svc.updated_at or svc.created_at) if svc else None
        age = _age(seen, now)
        meta = aggs.get(n.host, [])
        zones = {m["availability_zone"] for m in meta if m.get("availability_zone")}
        out.append(HostState(
            uuid=n.uuid, host=n.host, node=n.hypervisor_hostname, candidate=by_uuid.get(n.uuid),
            hypervisor_type=n.hypervisor_type, hypervisor_version=n.hypervisor_version,
            arch=(n.cpu_info or {}).get("arch") if isinstance(n.cpu_info, dict) else None,
            service_known=svc is not None, disabled=bool(svc and svc.disabled),
            disabled_reason=svc.disabled_reason if svc else None,
            forced_down=bool(svc and svc.forced_down),
            up=bool(svc and not svc.forced_down and age is not None and age <= conf.service_down_time),
            silent_for=age, aggregates=meta, zones=zones or {conf.default_availability_zone},
            instances=counts.get(n.host, 0)))
    return out
