"""Choose hosts for one instance: placement's candidates, then filters, then weighers.

Returns the hosts best first (the first to claim, the others as alternates for reschedules),
or raises NoValidHost whose message says, per reason, why the hosts did not fit — asking
placement what the hosts it left out have when that is the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nubes.core.exceptions import ServiceUnavailable
from nubes.compute import exceptions as exc
from nubes.compute.scheduler import explain, filters, hosts, placement, weighers
from nubes.compute.scheduler.hosts import HostState
from nubes.compute.scheduler.spec import RequestSpec

LOG = logging.getLogger(__name__)


@dataclass
class Selection:
    host: str
    node: str
    uuid: str
    allocations: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "node": self.node, "uuid": self.uuid, "allocations": self.allocations}


def _pinned(states: list[HostState], spec: RequestSpec) -> list[HostState]:
    host = spec.force_host or spec.requested_host
    node = spec.force_node or spec.requested_node
    return [h for h in states if (not host or h.host == host) and (not node or h.node == node)]


async def select(db: Any, clients: Any, conf: Any, spec: RequestSpec) -> list[Selection]:
    cands = await placement.candidates(clients, spec, conf.max_placement_results)
    async with db.reader() as s:
        states = _pinned(await hosts.load(s, cands, conf), spec)
    passing: list[HostState] = []
    rejected: list[filters.Rejection] = []
    chain = filters.enabled(conf.enabled_filters)
    if spec.forced:
        chain = chain[:1]        # a forced host skips the filters (but not the retry check)
    for h in states:
        why = next((r for _name, f in chain if (r := f(h, spec)) is not None), None)
        if why is None:
            passing.append(h)
        else:
            rejected.append(why)
    if not passing:
        raise exc.NoValidHost(await _explain(db, clients, conf, spec, states, rejected))
    ranked = weighers.order(passing, spec, conf.weigh, conf.host_subset_size)
    return [Selection(h.host, h.node, h.uuid, h.candidate.allocations) for h in ranked if h.candidate]


async def _explain(db: Any, clients: Any, conf: Any, spec: RequestSpec, states: list[HostState],
                   rejected: list[filters.Rejection]) -> str:
    async with db.reader() as s:
        every = _pinned(await hosts.load_all(s, conf), spec)
    if not every:
        pinned = spec.force_host or spec.requested_host or spec.force_node or spec.requested_node
        return f"Host {pinned} is not a compute host." if pinned else "There are no compute hosts."
    seen = {h.uuid for h in states}
    shortfalls = []
    for h in every:
        if h.uuid not in seen:
            try:
                shortfalls.append(explain.shortfall(await placement.report(clients, h.uuid), spec))
            except ServiceUnavailable:      # an explanation must never hide the real outcome
                LOG.warning("could not ask placement about %s", h.uuid, exc_info=True)
    out = explain.Explanation()
    out.add_shortfalls(shortfalls)
    out.add_rejections(rejected)
    return out.text()
