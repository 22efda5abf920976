"""The in-memory provider index each process keeps for allocation candidates and provider filters.

It holds every provider with its tree links, inventories, usage, traits and aggregates, in
set- and dict-shaped structures so a query is a few C-level set intersections plus one pass
over the survivors.  It is never trusted blindly: before each use ``ensure_fresh`` reads the
change-log sequence (one tiny query) and, if another writer (this process or any other)
committed since, reloads just the providers that changed.  A process too far behind the
pruned log reloads everything.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nubes.placement.db.queries import snapshot, state
from nubes.placement.standard import SHARES_VIA_AGGREGATE

LOG = logging.getLogger(__name__)


@dataclass(slots=True)
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    parent: int | None
    root: int


@dataclass(slots=True, frozen=True)
class Inv:
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)


class ProviderIndex:
    def __init__(self, read: Callable[..., Awaitable[Any]] | None = None,
                 peek: Callable[[], tuple[int, int]] | None = None) -> None:
        self._read = read      # runs session code in a read transaction (Placement.read)
        self._peek = peek      # reads (seq, pruned_below) in place, where that is cheap
        self.seq = -1
        self._lock = asyncio.Lock()
        self.rc_names: dict[int, str] = {}
        self.rc_ids: dict[str, int] = {}
        self.trait_names: dict[int, str] = {}
        self.trait_ids: dict[str, int] = {}
        self._clear()

    def _clear(self) -> None:
        self.providers: dict[int, Provider] = {}
        self.by_uuid: dict[str, int] = {}
        self.children: dict[int, set[int]] = {}
        self.rp_inv: dict[int, dict[int, Inv]] = {}
        self.rc_rps: dict[int, set[int]] = {}            # rc -> providers with inventory of it
        self.used: dict[int, dict[int, int]] = {}        # rp -> rc -> used
        self.free: dict[int, dict[int, int]] = {}        # rc -> rp -> capacity - used
        self.rp_traits: dict[int, set[int]] = {}
        self.trait_rps: dict[int, set[int]] = {}
        self.rp_aggs: dict[int, set[str]] = {}
        self.agg_rps: dict[str, set[int]] = {}
        self.stamp: dict[int, int] = {}                  # rp -> seq of its last reload
        self.with_parent = 0
        self.multi_roots: set[int] = set()              # roots of trees with more than one provider
        self.nested: set[int] = set()                   # every provider of those trees
        self._static: dict[tuple[int, int], frozenset[int]] = {}

    # ------------------------------------------------------------------ freshness

    async def ensure_fresh(self) -> None:
        if self._peek is not None:
            seq, _pruned = self._peek()
        else:
            seq, _pruned = await self._read(state.current)
        if seq == self.seq:
            return
        async with self._lock:
            if seq <= self.seq:
                return
            kind, seq, payload = await self._read(self._fetch, self.seq)
            # From here on nothing awaits: readers never see a half-applied change.
            if kind == "full":
                names, snap = payload
                self._set_names(*names)
                self._clear()
                self._apply(snap, (), seq)
                # The index is long-lived: keep the cyclic GC from re-scanning it on every
                # collection (those scans were the tail of the candidate latencies). Collect
                # first so no garbage already waiting is frozen with it.
                gc.collect()
                gc.freeze()
                LOG.info("placement index loaded: %d providers at change %d", len(self.providers), seq)
            else:
                names, ids, snap = payload
                if names is not None:
                    self._set_names(*names)
                self._apply(snap, ids, seq)
            self.seq = seq

    @staticmethod
    def _fetch(s: Any, since: int) -> tuple[str, int, Any]:
        """What changed since ``since`` (or everything, when that is no longer in the log)."""
        seq, pruned = state.current(s)
        if since < 0 or since < pruned:
            return "full", seq, (snapshot.names(s), snapshot.load(s))
        changes = state.changes_since(s, since)
        ids = {rp for _, rp in changes}
        names = None
        if state.NAMES_CHANGED in ids:
            ids.discard(state.NAMES_CHANGED)
            names = snapshot.names(s)
        top = max([seq, *(c for c, _ in changes)])
        return "delta", top, (names, ids, snapshot.load(s, ids))

    def _set_names(self, rcs: dict[int, str], traits: dict[int, str]) -> None:
        self.rc_names, self.trait_names = rcs, traits
        self.rc_ids = {n: i for i, n in rcs.items()}
        self.trait_ids = {n: i for i, n in traits.items()}

    def _forget(self, rp: int) -> None:
        p = self.providers.pop(rp, None)
        if p is None:
            return
        self.by_uuid.pop(p.uuid, None)
        if p.parent is not None:
            self.with_parent -= 1
            self.children.get(p.parent, set()).discard(rp)
        for rc in self.rp_inv.pop(rp, {}):
            self.rc_rps[rc].discard(rp)
            self.free[rc].pop(rp, None)
        self.used.pop(rp, None)
        for t in self.rp_traits.pop(rp, ()):
            self.trait_rps[t].discard(rp)
        for a in self.rp_aggs.pop(rp, ()):
            self.agg_rps[a].discard(rp)
        self.stamp.pop(rp, None)

    def _apply(self, snap: snapshot.Snapshot, changed: Iterable[int], seq: int) -> None:
        changed = set(changed)
        old_inv = {rp: self.rp_inv.get(rp) for rp in changed}
        reshaped = not changed or any(rp in self.nested or (p := self.providers.get(rp)) is not None
                                      and p.parent is not None for rp in changed)
        for rp in changed:
            self._forget(rp)
        for rid, uuid, name, gen, parent, root in snap.providers:
            root = root if root is not None else rid
            self.providers[rid] = Provider(rid, uuid, name, int(gen), parent, root)
            self.by_uuid[uuid] = rid
            self.stamp[rid] = seq
            if parent is not None:
                self.with_parent += 1
                self.children.setdefault(parent, set()).add(rid)
        for rp, rc, total, reserved, mn, mx, step, ratio in snap.inventories:
            self.rp_inv.setdefault(rp, {})[rc] = Inv(int(total), int(reserved), int(mn), int(mx), int(step),
                                                     float(ratio))
            self.rc_rps.setdefault(rc, set()).add(rp)
        for rp, rc, used in snap.usage:
            self.used.setdefault(rp, {})[rc] = used
        for rp, invs in ((rp, self.rp_inv.get(rp, {})) for rp in {r[0] for r in snap.providers}):
            usage = self.used.get(rp, {})
            for rc, inv in invs.items():
                self.free.setdefault(rc, {})[rp] = inv.capacity - usage.get(rc, 0)
        for rp, t in snap.traits:
            self.rp_traits.setdefault(rp, set()).add(t)
            self.trait_rps.setdefault(t, set()).add(rp)
        for rp, agg in snap.aggregates:
            self.rp_aggs.setdefault(rp, set()).add(agg)
            self.agg_rps.setdefault(agg, set()).add(rp)
        if not changed or any(self.rp_inv.get(rp) != old for rp, old in old_inv.items()):
            self._static.clear()
        if reshaped or any(parent is not None for _, _, _, _, parent, _ in snap.providers):
            self.multi_roots = {p.root for p in self.providers.values() if p.parent is not None}
            self.nested = {rp for root in self.multi_roots for rp in self.tree(root)}

    # ------------------------------------------------------------------ lookups

    @property
    def has_trees(self) -> bool:
        return self.with_parent > 0

    @property
    def sharing(self) -> set[int]:
        tid = self.trait_ids.get(SHARES_VIA_AGGREGATE)
        return self.trait_rps.get(tid, set()) if tid is not None else set()

    def accepting(self, rc: int, amount: int) -> frozenset[int]:
        """Providers whose inventory of rc allows ``amount`` (min_unit, max_unit, step_size)."""
        key = (rc, amount)
        hit = self._static.get(key)
        if hit is None:
            hit = frozenset(rp for rp in self.rc_rps.get(rc, ())
                            if (inv := self.rp_inv[rp][rc]).min_unit <= amount <= inv.max_unit
                            and amount % inv.step_size == 0)
            if len(self._static) > 4096:
                self._static.clear()
            self._static[key] = hit
        return hit

    def with_capacity(self, rps: Iterable[int], rc: int, amount: int) -> list[int]:
        free = self.free.get(rc, {})
        return [rp for rp in rps if free.get(rp, -1) >= amount]

    def tree(self, root: int) -> list[int]:
        out, todo = [], [root]
        while todo:
            rp = todo.pop()
            out.append(rp)
            todo.extend(self.children.get(rp, ()))
        return out

    def ancestors(self, rp: int) -> set[int]:
        out = {rp}
        p = self.providers[rp].parent
        while p is not None:
            out.add(p)
            p = self.providers[p].parent
        return out

    def having_any_trait(self, trait_ids: Iterable[int]) -> set[int]:
        out: set[int] = set()
        for t in trait_ids:
            out |= self.trait_rps.get(t, set())
        return out

    def in_any_aggregate(self, aggs: Iterable[str]) -> set[int]:
        out: set[int] = set()
        for a in aggs:
            out |= self.agg_rps.get(a, set())
        return out

    def sharing_anchors(self, rp: int) -> set[int]:
        """Roots of every tree that shares an aggregate with the sharing provider rp."""
        roots = set()
        for agg in self.rp_aggs.get(rp, ()):
            roots.update(self.providers[p].root for p in self.agg_rps.get(agg, ()))
        return roots
