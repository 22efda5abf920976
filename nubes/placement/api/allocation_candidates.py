"""GET /allocation_candidates: parse, search the index, render exactly as the microversion asks.

Rendering builds the JSON text directly: a provider summary is cached per provider and
wire flavour until that provider changes (its index stamp moves), and the allocation
requests of the short path are one string template, so 10,000 candidates cost a few ms.
"""

from __future__ import annotations

import json
from email.utils import formatdate
from typing import Any

from starlette.responses import Response

from nubes.core.api.http import Request
from nubes.placement import policies
from nubes.placement.api import query, views
from nubes.placement.service import candidates
from nubes.placement.service.index import ProviderIndex

_dumps = json.JSONEncoder(separators=(",", ":")).encode


class SummaryCache:
    def __init__(self) -> None:
        self.entries: dict[tuple[int, tuple[bool, bool]], tuple[int, str]] = {}

    def get(self, ix: ProviderIndex, rp: int, flavor: tuple[bool, bool]) -> str:
        stamp = ix.stamp.get(rp, -1)
        hit = self.entries.get((rp, flavor))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        text = _summary(ix, rp, flavor, None)
        if len(self.entries) > 200000:
            self.entries.clear()
        self.entries[(rp, flavor)] = (stamp, text)
        return text


def _summary(ix: ProviderIndex, rp: int, flavor: tuple[bool, bool], only_rcs: set[int] | None) -> str:
    traits, nested = flavor
    p = ix.providers[rp]
    used = ix.used.get(rp, {})
    res = {ix.rc_names[rc]: {"capacity": inv.capacity, "used": used.get(rc, 0)}
           for rc, inv in sorted(ix.rp_inv.get(rp, {}).items()) if only_rcs is None or rc in only_rcs}
    body: dict[str, Any] = {"resources": res}
    if traits:
        body["traits"] = sorted(ix.trait_names[t] for t in ix.rp_traits.get(rp, ()))
    if nested:
        parent = ix.providers.get(p.parent) if p.parent is not None else None
        body["parent_provider_uuid"] = parent.uuid if parent else None
        body["root_provider_uuid"] = ix.providers[p.root].uuid
    return f'"{p.uuid}":{_dumps(body)}'


def _fast_requests(ix: ProviderIndex, res: candidates.Result, v: tuple[int, int]) -> list[str]:
    resources = _dumps({ix.rc_names[rc]: amount for rc, amount in res.fast_resources})
    uuids = [ix.providers[rp].uuid for rp in res.fast_rps or ()]
    if v < (1, 12):
        return [f'{{"allocations":[{{"resource_provider":{{"uuid":"{u}"}},"resources":{resources}}}]}}'
                for u in uuids]
    if v >= (1, 34):
        suffix = _dumps(res.fast_suffix)
        return [f'{{"allocations":{{"{u}":{{"resources":{resources}}}}},"mappings":{{{suffix}:["{u}"]}}}}'
                for u in uuids]
    return [f'{{"allocations":{{"{u}":{{"resources":{resources}}}}}}}' for u in uuids]


def _requests(ix: ProviderIndex, res: candidates.Result, v: tuple[int, int]) -> list[str]:
    out = []
    for c in res.candidates:
        by_rp: dict[str, dict[str, int]] = {}
        for rp, rc, amount in c.resources:
            by_rp.setdefault(ix.providers[rp].uuid, {})[ix.rc_names[rc]] = amount
        if v < (1, 12):
            body: dict[str, Any] = {"allocations": [{"resource_provider": {"uuid": u}, "resources": r}
                                                    for u, r in by_rp.items()]}
        else:
            body = {"allocations": {u: {"resources": r} for u, r in by_rp.items()}}
            if v >= (1, 34):
                body["mappings"] = {s: sorted(ix.providers[rp].uuid for rp in rps) for s, rps in c.mappings}
        out.append(_dumps(body))
    return out


async def list_allocation_candidates(req: Request):
    req.ctx.can(policies.ALLOC_CANDIDATES_LIST)
    pl = views.placement(req)
    wanted = query.candidate_request(req, bool(getattr(pl.conf, "randomize_allocation_candidates", False)))
    await pl.index.ensure_fresh()
    # Nothing below awaits: the index cannot change while the answer is computed and rendered.
    ix = pl.index
    v = req.ctx.api_version
    res = candidates.find(ix, wanted)
    areqs = _fast_requests(ix, res, v) + _requests(ix, res, v)
    flavor = (v >= (1, 17), v >= (1, 29))
    if v >= (1, 27):
        cache: SummaryCache = req.rt.extra["placement_summaries"]
        sums = [cache.get(ix, rp, flavor) for rp in res.summary_rps]
    else:
        sums = [_summary(ix, rp, flavor, res.requested_rcs) for rp in res.summary_rps]
    text = '{"allocation_requests":[' + ",".join(areqs) + '],"provider_summaries":{' + ",".join(sums) + "}}"
    headers = {}
    if v >= (1, 15):
        headers = {"cache-control": "no-cache", "last-modified": formatdate(usegmt=True)}
    return Response(text.encode(), 200, headers=headers, media_type="application/json")
