"""Allocation candidates computed over the in-memory index (see index.py).

The semantics follow Placement's: a suffixed (granular) group is satisfied by one provider;
the unsuffixed group may take each resource class from a different provider of one tree or
from a sharing provider (MISC_SHARES_VIA_AGGREGATE) in an aggregate with that tree; the
groups' candidates are then combined per anchor tree under group_policy and same_subtree,
and a combination that would exceed capacity is dropped.  The common case -- one unsuffixed
group, no trees, no sharing providers -- takes a short path of set intersections.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from nubes.placement import exceptions as exc
from nubes.placement.service.index import ProviderIndex
from nubes.placement.service.requests import CandidateRequest, RequestGroup


@dataclass(frozen=True, slots=True)
class Candidate:
    """One allocation request: resources as ((rp, rc, amount), ...) and mappings suffix -> rps."""

    anchor: int
    resources: tuple[tuple[int, int, int], ...]
    mappings: tuple[tuple[str, frozenset[int]], ...]
    same_provider: bool = False

    @property
    def key(self) -> tuple:
        return (frozenset(self.resources), self.mappings)


@dataclass
class Result:
    candidates: list[Candidate] = field(default_factory=list)
    # When set, every candidate is a single provider taking ``fast_resources`` from itself.
    fast_rps: list[int] | None = None
    fast_resources: tuple[tuple[int, int], ...] = ()
    fast_suffix: str = ""
    summary_rps: list[int] = field(default_factory=list)
    requested_rcs: set[int] = field(default_factory=set)

    def __len__(self) -> int:
        return len(self.fast_rps or ()) + len(self.candidates)


@dataclass
class _Group:
    suffix: str
    resources: list[tuple[int, int]]
    required: list[set[int]]
    forbidden: set[int]
    member_of: list[set[str]]
    forbidden_aggs: set[str]
    tree_root: int | None
    same_provider: bool


class _NoMatch(Exception):
    pass


def _resolve(ix: ProviderIndex, g: RequestGroup) -> _Group:
    rcs = []
    for name, amount in g.resources.items():
        rc = ix.rc_ids.get(name)
        if rc is None:
            raise exc.BadRequest("Invalid resource class in resources parameter: "
                                 f"No such resource class {name}.")
        rcs.append((rc, amount))
    names = set().union(*g.required) | g.forbidden if (g.required or g.forbidden) else set()
    missing = sorted(n for n in names if n not in ix.trait_ids)
    if missing:
        raise exc.BadRequest(f"No such trait(s): {', '.join(missing)}.")
    tree_root = None
    if g.in_tree:
        rp = ix.by_uuid.get(g.in_tree)
        if rp is None:
            raise _NoMatch
        tree_root = ix.providers[rp].root
    return _Group(g.suffix, sorted(rcs), [{ix.trait_ids[t] for t in s} for s in g.required],
                  {ix.trait_ids[t] for t in g.forbidden}, g.member_of, g.forbidden_aggs, tree_root,
                  g.use_same_provider)


def _anchor_roots(ix: ProviderIndex, req: CandidateRequest) -> set[int] | None:
    if not (req.root_required or req.root_forbidden):
        return None
    missing = sorted(n for n in req.root_required | req.root_forbidden if n not in ix.trait_ids)
    if missing:
        raise exc.BadRequest(f"No such trait(s): {', '.join(missing)}.")
    roots = {rp for rp, p in ix.providers.items() if p.parent is None}
    for name in req.root_required:
        roots &= ix.trait_rps.get(ix.trait_ids[name], set())
    for name in req.root_forbidden:
        roots -= ix.trait_rps.get(ix.trait_ids[name], set())
    return roots


def _in_aggregates(ix: ProviderIndex, member_of: list[set[str]]) -> set[int] | None:
    if not member_of:
        return None
    sets = sorted((ix.in_any_aggregate(aggs) for aggs in member_of), key=len)
    return sets[0].intersection(*sets[1:])


def single_provider_matches(ix: ProviderIndex, g: _Group) -> list[int]:
    """Providers that alone satisfy every resource, trait and aggregate condition of the group."""
    sets: list[set[int] | frozenset[int]] = [ix.accepting(rc, amount) for rc, amount in g.resources]
    sets += [ix.having_any_trait(any_of) for any_of in g.required]
    sets += [ix.in_any_aggregate(aggs) for aggs in g.member_of]
    if g.tree_root is not None:
        sets.append(set(ix.tree(g.tree_root)))
    if sets:
        sets.sort(key=len)
        found = set(sets[0]).intersection(*sets[1:])
    else:
        found = set(ix.providers)
    if g.forbidden:
        found -= ix.having_any_trait(g.forbidden)
    if g.forbidden_aggs:
        found -= ix.in_any_aggregate(g.forbidden_aggs)
    out: list[int] | set[int] = found
    for rc, amount in g.resources:
        out = ix.with_capacity(out, rc, amount)
    return sorted(out)


def find(ix: ProviderIndex, req: CandidateRequest) -> Result:
    """Compute the candidates for ``req``; raises BadRequest for unknown classes or traits."""
    try:
        groups = [_resolve(ix, g) for g in req.groups.values()]
    except _NoMatch:
        return Result()
    anchors = _anchor_roots(ix, req)
    requested = {rc for g in groups for rc, _ in g.resources}
    if len(groups) == 1 and groups[0].resources and not ix.sharing:
        if groups[0].same_provider or not ix.has_trees:
            return _fast(ix, req, groups[0], anchors, requested)
        return _mixed(ix, req, groups[0], anchors, requested)
    try:
        per_group = {g.suffix: _group_candidates(ix, g, anchors) for g in groups}
    except _NoMatch:
        return Result(requested_rcs=requested)
    merged = _merge(ix, req, per_group)
    if not req.nested_aware and ix.has_trees:
        merged = [c for c in merged if _distinct_trees(ix, c)]
    merged = _limit(req, merged)
    res = Result(candidates=merged, requested_rcs=requested)
    if not req.nested_aware and ix.has_trees:
        res.summary_rps = sorted({rp for c in merged for rp, _, _ in c.resources})
    else:
        roots = sorted({ix.providers[rp].root for c in merged for rp, _, _ in c.resources})
        res.summary_rps = [rp for root in roots for rp in sorted(ix.tree(root))]
    return res


def _fast(ix: ProviderIndex, req: CandidateRequest, g: _Group, anchors: set[int] | None,
          requested: set[int]) -> Result:
    rps = single_provider_matches(ix, g)
    if anchors is not None:
        rps = [rp for rp in rps if ix.providers[rp].root in anchors]
    if req.limit is not None and req.limit < len(rps):
        rps = sorted(random.sample(rps, req.limit)) if req.randomize else rps[:req.limit]
    elif req.randomize:
        random.shuffle(rps)
    if ix.has_trees and req.nested_aware:
        roots = sorted({ix.providers[rp].root for rp in rps})
        summary = [m for root in roots for m in sorted(ix.tree(root))]
    else:
        summary = rps
    return Result(fast_rps=rps, fast_resources=tuple(g.resources), fast_suffix=g.suffix,
                  summary_rps=summary, requested_rcs=requested)


def _mixed(ix: ProviderIndex, req: CandidateRequest, g: _Group, anchors: set[int] | None,
           requested: set[int]) -> Result:
    """One unsuffixed group while some trees are nested: providers alone in their tree take the
    short path, only the nested trees are combined provider by provider."""
    nested = ix.nested
    flat = [rp for rp in single_provider_matches(ix, g) if rp not in nested]
    if anchors is not None:
        flat = [rp for rp in flat if rp in anchors]
    try:
        trees = _tree_candidates(ix, g, anchors, only_roots=ix.multi_roots)
    except _NoMatch:
        trees = []
    if not req.nested_aware:
        trees = [c for c in trees if _distinct_trees(ix, c)]
    total = len(flat) + len(trees)
    if req.limit is not None and req.limit < total:
        keep = sorted(random.sample(range(total), req.limit)) if req.randomize else range(req.limit)
        n_flat = len(flat)
        flat, trees = [flat[i] for i in keep if i < n_flat], [trees[i - n_flat] for i in keep if i >= n_flat]
    elif req.randomize:
        random.shuffle(flat)
        random.shuffle(trees)
    if req.nested_aware:
        roots = sorted({ix.providers[rp].root for c in trees for rp, _, _ in c.resources})
        summary = flat + [rp for root in roots for rp in sorted(ix.tree(root))]
    else:
        summary = flat + sorted({rp for c in trees for rp, _, _ in c.resources})
    return Result(candidates=trees, fast_rps=flat, fast_resources=tuple(g.resources), fast_suffix=g.suffix,
                  summary_rps=summary, requested_rcs=requested)


def _group_candidates(ix: ProviderIndex, g: _Group, anchors: set[int] | None) -> list[Candidate]:
    if g.same_provider or not (ix.has_trees or ix.sharing):
        out = _single_provider_candidates(ix, g, anchors)
    else:
        out = _tree_candidates(ix, g, anchors)
    if not out:
        raise _NoMatch
    return out


def _single_provider_candidates(ix: ProviderIndex, g: _Group, anchors: set[int] | None) -> list[Candidate]:
    out = []
    sharing = ix.sharing
    for rp in single_provider_matches(ix, g):
        res = tuple((rp, rc, amount) for rc, amount in g.resources)
        maps = ((g.suffix, frozenset((rp,))),)
        root = ix.providers[rp].root
        if anchors is None or root in anchors:
            out.append(Candidate(root, res, maps, g.same_provider))
        if rp in sharing:
            for anchor in sorted(ix.sharing_anchors(rp)):
                if anchor != root and (anchors is None or anchor in anchors):
                    out.append(Candidate(anchor, res, maps, g.same_provider))
    return out


def _tree_candidates(ix: ProviderIndex, g: _Group, anchors: set[int] | None,
                     only_roots: set[int] | None = None) -> list[Candidate]:
    """Unsuffixed group with trees or sharing providers: each class may come from another provider."""
    in_aggs = _in_aggregates(ix, g.member_of)
    bad_aggs = ix.in_any_aggregate(g.forbidden_aggs) if g.forbidden_aggs else set()
    sharing = ix.sharing
    per_rc: list[dict[int, list[int]]] = []
    common: set[int] | None = None
    for rc, amount in g.resources:
        pool = ix.accepting(rc, amount)
        if only_roots is not None:
            pool = pool & ix.nested
        rps = ix.with_capacity(pool, rc, amount)
        if g.tree_root is not None:
            rps = [rp for rp in rps if ix.providers[rp].root == g.tree_root]
        pairs = [(rp, ix.providers[rp].root) for rp in rps]
        if only_roots is not None:
            pairs = [(rp, root) for rp, root in pairs if root in only_roots]
        shared = [rp for rp in rps if rp in sharing and (in_aggs is None or rp in in_aggs)]
        if shared and g.tree_root is None:
            pairs += [(rp, anchor) for rp in shared for anchor in ix.sharing_anchors(rp)]
        if anchors is not None:
            pairs = [(rp, root) for rp, root in pairs if root in anchors]
        if in_aggs is not None:
            pairs = [(rp, root) for rp, root in pairs if rp in in_aggs or root in in_aggs]
        if bad_aggs:
            pairs = [(rp, root) for rp, root in pairs if rp not in bad_aggs and root not in bad_aggs]
        by_root: dict[int, list[int]] = {}
        for rp, root in pairs:
            lst = by_root.setdefault(root, [])
            if rp not in lst:
                lst.append(rp)
        per_rc.append(by_root)
        common = set(by_root) if common is None else common & set(by_root)
        if not common:
            return []
    out: dict[tuple, Candidate] = {}
    for root in sorted(common or ()):
        choices = [sorted(by_root[root]) for by_root in per_rc]
        for combo in itertools.product(*choices):
            if not _traits_ok(ix, set(combo), g):
                continue
            res = tuple((rp, rc, amount) for rp, (rc, amount) in zip(combo, g.resources, strict=True))
            cand = Candidate(root, res, ((g.suffix, frozenset(combo)),), False)
            out.setdefault((root, cand.key), cand)
    return list(out.values())


def _traits_ok(ix: ProviderIndex, rps: set[int], g: _Group) -> bool:
    have: set[int] = set()
    for rp in rps:
        traits = ix.rp_traits.get(rp, set())
        if g.forbidden & traits:
            return False
        have |= traits
    return all(any_of & have for any_of in g.required)


def _merge(ix: ProviderIndex, req: CandidateRequest,
           per_group: dict[str, list[Candidate]]) -> list[Candidate]:
    by_anchor: dict[int, dict[str, list[Candidate]]] = {}
    for suffix, cands in per_group.items():
        for c in cands:
            by_anchor.setdefault(c.anchor, {}).setdefault(suffix, []).append(c)
    suffixes = list(per_group)
    granular = sum(1 for s in suffixes if s)
    seen: dict[tuple, Candidate] = {}
    for anchor in sorted(by_anchor):
        lists = by_anchor[anchor]
        if len(lists) != len(suffixes):
            continue
        for combo in itertools.product(*(lists[s] for s in suffixes)):
            if req.group_policy == "isolate" and not _isolated(combo, granular):
                continue
            if req.same_subtrees and not _same_subtree(ix, combo, req.same_subtrees):
                continue
            merged = _consolidate(anchor, combo)
            if _exceeds_capacity(ix, merged):
                continue
            seen.setdefault(merged.key, merged)
    return list(seen.values())


def _isolated(combo: tuple[Candidate, ...], granular: int) -> bool:
    used: set[int] = set()
    for c in combo:
        if c.same_provider:
            used |= c.mappings[0][1]
    return len(used) == granular


def _same_subtree(ix: ProviderIndex, combo: tuple[Candidate, ...], subtrees: list[set[str]]) -> bool:
    maps: dict[str, frozenset[int]] = {}
    for c in combo:
        for suffix, rps in c.mappings:
            maps[suffix] = maps.get(suffix, frozenset()) | rps
    for suffixes in subtrees:
        rps = set().union(*(maps.get(s, frozenset()) for s in suffixes))
        if len(rps) <= 1:
            continue
        common = set.intersection(*(ix.ancestors(rp) for rp in rps))
        if not common & rps:
            return False
    return True


def _consolidate(anchor: int, combo: tuple[Candidate, ...]) -> Candidate:
    amounts: dict[tuple[int, int], int] = {}
    maps: dict[str, frozenset[int]] = {}
    for c in combo:
        for rp, rc, amount in c.resources:
            amounts[(rp, rc)] = amounts.get((rp, rc), 0) + amount
        for suffix, rps in c.mappings:
            maps[suffix] = maps.get(suffix, frozenset()) | rps
    res = tuple(sorted((rp, rc, amount) for (rp, rc), amount in amounts.items()))
    return Candidate(anchor, res, tuple(sorted(maps.items())), False)


def _exceeds_capacity(ix: ProviderIndex, c: Candidate) -> bool:
    for rp, rc, amount in c.resources:
        inv = ix.rp_inv[rp][rc]
        if ix.used.get(rp, {}).get(rc, 0) + amount > inv.capacity or amount > inv.max_unit:
            return True
    return False


def _distinct_trees(ix: ProviderIndex, c: Candidate) -> bool:
    rps = {rp for rp, _, _ in c.resources}
    return len(rps) == len({ix.providers[rp].root for rp in rps})


def _limit(req: CandidateRequest, cands: list[Candidate]) -> list[Candidate]:
    if req.limit is not None and req.limit < len(cands):
        return random.sample(cands, req.limit) if req.randomize else cands[:req.limit]
    if req.randomize:
        random.shuffle(cands)
    return cands
