"""Nova's weighers: free RAM, VCPUs and disk (spread: most free first; pack: least free first),
and the soft server group policies. Each weigher's values are normalised to 0..1 across the
hosts before they are added, as Nova does."""

from __future__ import annotations

import random
from collections.abc import Callable

from nubes.compute.scheduler.hosts import HostState
from nubes.compute.scheduler.spec import RequestSpec

Weigher = Callable[[HostState, RequestSpec], float]


def _free(rc: str) -> Weigher:
    return lambda h, spec: float(h.free(rc))


def _members(h: HostState, spec: RequestSpec) -> float:
    return float(spec.group.member_hosts.count(h.host)) if spec.group else 0.0


def weighers(mode: str, spec: RequestSpec) -> list[tuple[float, Weigher]]:
    sign = -1.0 if mode == "pack" else 1.0
    out: list[tuple[float, Weigher]] = [(sign, _free("MEMORY_MB")), (sign, _free("VCPU")),
                                        (sign, _free("DISK_GB"))]
    if spec.group and spec.group.policy == "soft-affinity":
        out.append((10.0, _members))
    elif spec.group and spec.group.policy == "soft-anti-affinity":
        out.append((-10.0, _members))
    return out


def _normalised(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def order(hosts: list[HostState], spec: RequestSpec, mode: str, subset_size: int = 1) -> list[HostState]:
    """The hosts best first; with ``subset_size`` > 1 the first is drawn among the best few."""
    if not hosts:
        return []
    totals = [0.0] * len(hosts)
    for multiplier, weigher in weighers(mode, spec):
        for i, v in enumerate(_normalised([weigher(h, spec) for h in hosts])):
            totals[i] += multiplier * v
    ranked = [h for _t, _n, h in sorted(((t, h.node, h) for t, h in zip(totals, hosts, strict=True)),
                                        key=lambda x: (-x[0], x[1]))]
    if subset_size > 1:
        first = random.choice(ranked[:subset_size])
        ranked.remove(first)
        ranked.insert(0, first)
    return ranked
