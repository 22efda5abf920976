"""Allocation candidate semantics over a hand-built index (no database)."""

from __future__ import annotations

import pytest

from nubes.placement import exceptions as exc
from nubes.placement.db.queries.snapshot import Snapshot
from nubes.placement.service import candidates
from nubes.placement.service.index import ProviderIndex
from nubes.placement.service.requests import CandidateRequest, RequestGroup

RCS = {1: "VCPU", 2: "MEMORY_MB", 3: "DISK_GB", 4: "SRIOV_NET_VF", 5: "VGPU"}
TRAITS = {1: "HW_CPU_X86_AVX2", 2: "MISC_SHARES_VIA_AGGREGATE", 3: "CUSTOM_PHYSNET_A", 4: "CUSTOM_PHYSNET_B",
          5: "HW_NIC_OFFLOAD_GENEVE", 6: "COMPUTE_STATUS_DISABLED", 7: "STORAGE_DISK_SSD"}
AGG = "11111111-1111-1111-1111-111111111111"
AGG2 = "22222222-2222-2222-2222-222222222222"


class Builder:
    def __init__(self) -> None:
        self.snap = Snapshot()
        self.n = 0

    def rp(self, parent: int | None = None, inv: dict[int, int | tuple] | None = None,
           traits: tuple[int, ...] = (), aggs: tuple[str, ...] = (),
           used: dict[int, int] | None = None) -> int:
        self.n += 1
        rid = self.n
        root = rid if parent is None else next(p[5] for p in self.snap.providers if p[0] == parent)
        self.snap.providers.append((rid, f"00000000-0000-0000-0000-{rid:012d}", f"rp{rid}", 0, parent, root))
        for rc, spec in (inv or {}).items():
            total, mn, mx, step = (spec, 1, spec, 1) if isinstance(spec, int) else spec
            self.snap.inventories.append((rid, rc, total, 0, mn, mx, step, 1.0))
        self.snap.traits += [(rid, t) for t in traits]
        self.snap.aggregates += [(rid, a) for a in aggs]
        self.snap.usage += [(rid, rc, n) for rc, n in (used or {}).items()]
        return rid

    def index(self) -> ProviderIndex:
        ix = ProviderIndex()
        ix._set_names(RCS, TRAITS)
        ix._apply(self.snap, (), 1)
        ix.seq = 1
        return ix


def group(suffix: str = "", **kw) -> RequestGroup:
    return RequestGroup(suffix=suffix, **kw)


def find(ix: ProviderIndex, *groups: RequestGroup, **kw) -> candidates.Result:
    return candidates.find(ix, CandidateRequest(groups={g.suffix: g for g in groups}, **kw))


def allocations(res: candidates.Result) -> list[dict[int, dict[int, int]]]:
    """Each candidate as {rp: {rc: amount}}, whichever path produced it."""
    out: list[dict[int, dict[int, int]]] = [{rp: dict(res.fast_resources)} for rp in res.fast_rps or ()]
    for c in res.candidates:
        d: dict[int, dict[int, int]] = {}
        for rp, rc, amount in c.resources:
            d.setdefault(rp, {})[rc] = amount
        out.append(d)
    return out


def test_capacity_units_and_step():
    b = Builder()
    full = b.rp(inv={1: 8}, used={1: 8})
    small = b.rp(inv={1: (8, 2, 4, 2)})        # min 2, max 4, step 2
    ok = b.rp(inv={1: 8})
    ix = b.index()
    assert [c for c in allocations(find(ix, group(resources={"VCPU": 1})))] == [{ok: {1: 1}}]
    assert {next(iter(c)) for c in allocations(find(ix, group(resources={"VCPU": 4})))} == {small, ok}
    assert {next(iter(c)) for c in allocations(find(ix, group(resources={"VCPU": 3})))} == {ok}
    assert full not in {next(iter(c)) for c in allocations(find(ix, group(resources={"VCPU": 2})))}


def test_required_forbidden_any_and_aggregates():
    b = Builder()
    a = b.rp(inv={1: 8}, traits=(1,), aggs=(AGG,))
    b2 = b.rp(inv={1: 8}, traits=(1, 6), aggs=(AGG,))
    c = b.rp(inv={1: 8}, traits=(7,), aggs=(AGG2,))
    ix = b.index()

    def rps(**kw):
        return sorted(next(iter(x)) for x in allocations(find(ix, group(resources={"VCPU": 1}, **kw))))

    assert rps(required=[{"HW_CPU_X86_AVX2"}]) == [a, b2]
    assert rps(required=[{"HW_CPU_X86_AVX2"}], forbidden={"COMPUTE_STATUS_DISABLED"}) == [a]
    assert rps(required=[{"HW_CPU_X86_AVX2", "STORAGE_DISK_SSD"}]) == [a, b2, c]
    assert rps(member_of=[{AGG}]) == [a, b2]
    assert rps(member_of=[{AGG, AGG2}]) == [a, b2, c]
    assert rps(forbidden_aggs={AGG}) == [c]
    assert rps(member_of=[{AGG}, {AGG2}]) == []


def test_unknown_names_are_bad_requests():
    b = Builder()
    b.rp(inv={1: 8})
    ix = b.index()
    with pytest.raises(exc.BadRequest, match="No such resource class CUSTOM_X"):
        find(ix, group(resources={"CUSTOM_X": 1}))
    with pytest.raises(exc.BadRequest, match=r"No such trait\(s\): CUSTOM_NOPE"):
        find(ix, group(resources={"VCPU": 1}, required=[{"CUSTOM_NOPE"}]))


def _nested():
    """cn (VCPU, MEMORY) with two PFs (SRIOV_NET_VF) on different physnets."""
    b = Builder()
    cn = b.rp(inv={1: 16, 2: 2048}, traits=(1,))
    pf1 = b.rp(parent=cn, inv={4: 8}, traits=(3,))
    pf2 = b.rp(parent=cn, inv={4: 8}, traits=(4, 5))
    return b, cn, pf1, pf2


def test_nested_unsuffixed_group_spans_the_tree():
    b, cn, pf1, pf2 = _nested()
    ix = b.index()
    res = find(ix, group(resources={"VCPU": 1, "SRIOV_NET_VF": 1}))
    assert sorted(sorted(a.items()) for a in allocations(res)) == sorted([
        sorted({cn: {1: 1}, pf1: {4: 1}}.items()), sorted({cn: {1: 1}, pf2: {4: 1}}.items())])
    assert res.summary_rps == [cn, pf1, pf2]
    # traits of the unsuffixed group are satisfied by the providers used, collectively
    res = find(ix, group(resources={"VCPU": 1, "SRIOV_NET_VF": 1}, required=[{"HW_NIC_OFFLOAD_GENEVE"}]))
    assert allocations(res) == [{cn: {1: 1}, pf2: {4: 1}}]
    # before 1.29 a candidate may not use two providers of one tree
    res = find(ix, group(resources={"VCPU": 1, "SRIOV_NET_VF": 1}), nested_aware=False)
    assert allocations(res) == []


def test_granular_groups_and_isolation():
    b, cn, pf1, pf2 = _nested()
    ix = b.index()
    g1 = group("1", resources={"SRIOV_NET_VF": 1})
    g2 = group("2", resources={"SRIOV_NET_VF": 1})
    base = group(resources={"VCPU": 1})
    none = find(ix, base, g1, g2, group_policy="none")
    assert len(allocations(none)) == 4   # pf1+pf1 (2 VFs), pf1+pf2, pf2+pf1, pf2+pf2
    merged = {tuple(sorted((rp, tuple(sorted(r.items()))) for rp, r in a.items())) for a in allocations(none)}
    assert ((cn, ((1, 1),)), (pf1, ((4, 2),))) in merged
    iso = find(ix, base, g1, g2, group_policy="isolate")
    assert len(allocations(iso)) == 2
    assert all(len(a) == 3 for a in allocations(iso))
    phys = find(ix, base, group("1", resources={"SRIOV_NET_VF": 1}, required=[{"CUSTOM_PHYSNET_B"}]),
                group_policy="none")
    assert allocations(phys) == [{cn: {1: 1}, pf2: {4: 1}}]
    assert dict(phys.candidates[0].mappings) == {"": frozenset({cn}), "1": frozenset({pf2})}


def test_granular_capacity_checked_after_merging():
    b = Builder()
    cn = b.rp(inv={1: 16})
    pf = b.rp(parent=cn, inv={4: 1})
    ix = b.index()
    res = find(ix, group(resources={"VCPU": 1}), group("1", resources={"SRIOV_NET_VF": 1}),
               group("2", resources={"SRIOV_NET_VF": 1}), group_policy="none")
    assert allocations(res) == []     # 2 VFs from a PF with one
    assert pf


def test_same_subtree_with_resourceless_group():
    b = Builder()
    cn = b.rp(inv={1: 16})
    numa0 = b.rp(parent=cn, inv={2: 1024}, traits=(7,))
    numa1 = b.rp(parent=cn, inv={2: 1024})
    gpu1 = b.rp(parent=numa1, inv={5: 1})
    ix = b.index()
    res = find(ix, group(resources={"VCPU": 1}), group("_MEM", resources={"MEMORY_MB": 512}),
               group("_GPU", resources={"VGPU": 1}), group_policy="none",
               same_subtrees=[{"_MEM", "_GPU"}])
    assert allocations(res) == [{cn: {1: 1}, numa1: {2: 512}, gpu1: {5: 1}}]
    # a resourceless group naming the NUMA node by trait
    res = find(ix, group(resources={"VCPU": 1}), group("_N", required=[{"STORAGE_DISK_SSD"}]),
               group("_MEM", resources={"MEMORY_MB": 512}), group_policy="none",
               same_subtrees=[{"_N", "_MEM"}])
    assert allocations(res) == [{cn: {1: 1}, numa0: {2: 512}}]
    assert dict(res.candidates[0].mappings)["_N"] == frozenset({numa0})


def test_sharing_provider_completes_a_tree():
    b = Builder()
    cn1 = b.rp(inv={1: 8, 2: 1024}, aggs=(AGG,))
    cn2 = b.rp(inv={1: 8, 2: 1024})                     # not in the aggregate
    nfs = b.rp(inv={3: 1000}, traits=(2,), aggs=(AGG,))
    ix = b.index()
    res = find(ix, group(resources={"VCPU": 1, "DISK_GB": 100}))
    assert allocations(res) == [{cn1: {1: 1}, nfs: {3: 100}}]
    assert set(res.summary_rps) == {cn1, nfs}
    assert cn2


def test_root_required_and_in_tree_and_limit():
    b = Builder()
    roots = [b.rp(inv={1: 8}, traits=(1,) if i % 2 else ()) for i in range(6)]
    ix = b.index()
    res = find(ix, group(resources={"VCPU": 1}), root_required={"HW_CPU_X86_AVX2"})
    assert res.fast_rps == roots[1::2]
    res = find(ix, group(resources={"VCPU": 1}), root_forbidden={"HW_CPU_X86_AVX2"})
    assert res.fast_rps == roots[0::2]
    res = find(ix, group(resources={"VCPU": 1}, in_tree=ix.providers[roots[3]].uuid))
    assert res.fast_rps == [roots[3]]
    res = find(ix, group(resources={"VCPU": 1}), limit=2)
    assert res.fast_rps == roots[:2] and res.summary_rps == roots[:2]
    res = find(ix, group(resources={"VCPU": 1}, in_tree="99999999-9999-9999-9999-999999999999"))
    assert len(res) == 0


def test_flat_and_nested_trees_together():
    b = Builder()
    flat = [b.rp(inv={1: 8, 2: 1024}) for _ in range(3)]
    cn = b.rp(inv={1: 8})
    numa = b.rp(parent=cn, inv={2: 1024})
    ix = b.index()
    assert ix.nested == {cn, numa} and ix.multi_roots == {cn}
    res = find(ix, group(resources={"VCPU": 1, "MEMORY_MB": 512}))
    got = sorted(sorted(a.items()) for a in allocations(res))
    assert res.fast_rps == flat and len(res.candidates) == 1
    assert res.candidates[0].resources == ((cn, 1, 1), (numa, 2, 512))
    assert res.summary_rps == [*flat, cn, numa]
    assert len(got) == 4
    res = find(ix, group(resources={"VCPU": 1, "MEMORY_MB": 512}), limit=4)
    assert len(res) == 4
    res = find(ix, group(resources={"VCPU": 1, "MEMORY_MB": 512}), limit=2)
    assert res.fast_rps == flat[:2] and res.candidates == []
    res = find(ix, group(resources={"VCPU": 1, "MEMORY_MB": 512}), nested_aware=False)
    assert len(res) == 3 and res.summary_rps == flat
