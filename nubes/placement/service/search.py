"""GET /resource_providers filters, answered from the in-memory index."""

from __future__ import annotations

from typing import Any

from nubes.placement.service import candidates
from nubes.placement.service.index import Provider, ProviderIndex
from nubes.placement.service.requests import RequestGroup


def providers(ix: ProviderIndex, f: dict[str, Any]) -> list[Provider]:
    if f.get("uuid") is not None:
        rp = ix.by_uuid.get(f["uuid"])
        pool = [rp] if rp is not None else []
    else:
        pool = None
    g = RequestGroup(suffix="1", resources=f.get("resources") or {}, required=f.get("required") or [],
                     forbidden=f.get("forbidden") or set(), member_of=f.get("member_of") or [],
                     forbidden_aggs=f.get("forbidden_aggs") or set(), in_tree=f.get("in_tree"))
    try:
        resolved = candidates._resolve(ix, g)
    except candidates._NoMatch:
        return []
    ids = candidates.single_provider_matches(ix, resolved)
    if pool is not None:
        ids = [i for i in ids if i in pool]
    if f.get("name") is not None:
        ids = [i for i in ids if ix.providers[i].name == f["name"]]
    return [ix.providers[i] for i in ids]
