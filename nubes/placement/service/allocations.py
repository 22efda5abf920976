"""The write path for allocations: claims are checked and written in one transaction.

Every write locks what it reads before deciding: the consumers (by uuid order), then every
provider it will allocate from or free (by id order), and only then reads inventories and
usage, so the capacity check and the INSERT see the same numbers.  On SQLite the whole
transaction already holds the database (BEGIN IMMEDIATE); on PostgreSQL and MariaDB the
SELECT ... FOR UPDATE on provider rows serialises writers per provider, in one global order
so two claims never deadlock.  Nothing can therefore be allocated beyond
(total - reserved) * allocation_ratio, however many claims race.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.placement import exceptions as exc
from nubes.placement.db.models import ResourceClass
from nubes.placement.db.queries import allocations as q
from nubes.placement.db.queries import catalog, state
from nubes.placement.db.queries import inventories as iq
from nubes.placement.db.queries import providers as pq
from nubes.placement.service.runtime import Placement

UNSET: Any = object()   # consumer_generation not given (before 1.28: not checked)


@dataclass
class ConsumerWrite:
    allocations: dict[str, dict[str, int]]       # {rp uuid: {resource class: amount}}
    project_id: str | None = None
    user_id: str | None = None
    generation: Any = UNSET
    consumer_type: str | None = None


@dataclass
class InventoryWrite:
    generation: int
    inventories: dict[str, dict[str, Any]] = field(default_factory=dict)


def _gen(v: Any) -> str:
    return "null" if v is None else str(v)


async def write(pl: Placement, writes: dict[str, ConsumerWrite], *,
                reshape: dict[str, InventoryWrite] | None = None) -> None:
    """Replace the allocations of every consumer in ``writes`` (and, reshaping, inventories)."""
    try:
        await pl.write(_write, pl.horizon, writes, reshape or {})
    except IntegrityError:
        # Two requests created the same new consumer at once; the loser sees a stale generation.
        raise exc.ConcurrentUpdate("consumer generation conflict - another request created the "
                                   "consumer at the same time") from None


def _write(s: Session, horizon: int, writes: dict[str, ConsumerWrite],
           reshape: dict[str, InventoryWrite]) -> None:
    rc_ids = catalog.ids_for(s, ResourceClass, {rc for w in writes.values()
                                                for res in w.allocations.values() for rc in res})
    for w in writes.values():
        for res in w.allocations.values():
            for rc in res:
                if rc not in rc_ids:
                    raise exc.BadRequest(f"Unable to allocate inventory: No such resource class {rc}.")
    rp_uuids = {u for w in writes.values() for u in w.allocations} | set(reshape)
    # 1. consumers, in uuid order
    existing = q.consumers(s, writes, lock=True)
    _check_consumer_generations(writes, existing)
    # 2. every provider whose usage changes, in id order (named ones and those being freed)
    old = q.for_consumers(s, writes)
    locked = pq.lock_by(s, rp_uuids, {p for _, p, _, _ in old})
    rp_ids = {rp.uuid: rp.id for rp in locked.values()}
    for u in sorted(rp_uuids):
        if u not in rp_ids:
            if u in reshape:
                raise exc.ProviderNotFound(u)
            raise exc.BadRequest(f"Allocation for resource provider '{u}' that does not exist.")
    for u, inv in sorted(reshape.items()):
        if locked[rp_ids[u]].generation != inv.generation:
            raise exc.ConcurrentUpdate(f"resource provider generation conflict for {u}")
    # 3. under the locks: inventories (reshaped first), then usage without these consumers
    if reshape:
        _reshape_inventories(s, reshape, rp_ids)
    rows = [(c, rp_ids[u], rc_ids[rc], int(amount)) for c, w in writes.items()
            for u, res in w.allocations.items() for rc, amount in res.items()]
    _check_capacity(s, rows, {v: k for k, v in rp_ids.items()}, {v: k for k, v in rc_ids.items()},
                    list(writes), reshape_rps={rp_ids[u] for u in reshape})
    # 4. write
    _write_consumers(s, writes, existing)
    q.replace_for_consumers(s, writes, rows, had_any=bool(old))
    pq.bump_generations(s, locked)
    state.record_change(s, locked, horizon=horizon)


def _check_consumer_generations(writes: dict[str, ConsumerWrite], existing: dict[str, Any]) -> None:
    for c, w in sorted(writes.items()):
        if w.generation is UNSET:
            continue
        cur = existing.get(c)
        if cur is None and w.generation is not None:
            raise exc.ConcurrentUpdate(f"consumer generation conflict - expected null but got {w.generation}")
        if cur is not None and cur.generation != w.generation:
            raise exc.ConcurrentUpdate(f"consumer generation conflict - expected {cur.generation} "
                                       f"but got {_gen(w.generation)}")


def _reshape_inventories(s: Session, reshape: dict[str, InventoryWrite], rp_ids: dict[str, int]) -> None:
    from nubes.placement.service.inventories import with_defaults

    ids = catalog.ids_for(s, ResourceClass, {rc for w in reshape.values() for rc in w.inventories})
    for u, w in sorted(reshape.items()):
        unknown = sorted(set(w.inventories) - set(ids))
        if unknown:
            raise exc.BadRequest(f"Unknown resource class in inventory for resource provider {u}: "
                                 f"No such resource class {unknown[0]}.")
        invs = {ids[rc]: with_defaults(f) for rc, f in w.inventories.items()}
        for rc, f in w.inventories.items():
            f = with_defaults(f)
            if f["reserved"] > f["total"] or f["min_unit"] > f["max_unit"]:
                raise exc.BadRequest(f"Unable to update inventory for resource provider {u}: Invalid "
                                     f"inventory for '{rc}' on resource provider '{u}'.")
        iq.replace(s, rp_ids[u], invs)


def _check_capacity(s: Session, rows: list[tuple[str, int, int, int]], rp_uuid: dict[int, str],
                          rc_name: dict[int, str], consumers: list[str], *, reshape_rps: set[int]) -> None:
    need: dict[tuple[int, int], int] = {}
    for _, rp, rc, amount in rows:
        need[(rp, rc)] = need.get((rp, rc), 0) + amount
    check_rps = {rp for rp, _ in need} | reshape_rps
    invs = iq.for_providers(s, check_rps)
    used = iq.usage(s, check_rps, exclude_consumers=consumers)
    for _, rp, rc, amount in rows:
        inv = invs.get(rp, {}).get(rc)
        where = f"'{rc_name.get(rc, rc)}' on resource provider '{rp_uuid.get(rp, rp)}'"
        if inv is None:
            raise exc.Conflict(f"Unable to allocate inventory: Inventory for {where} invalid.")
        if amount < inv["min_unit"] or amount > inv["max_unit"] or amount % inv["step_size"]:
            raise exc.BadRequest(f"Unable to allocate inventory: Unable to create allocation for {where}. "
                                 "The requested amount would violate inventory constraints.")
    totals = dict(used)
    for key, amount in need.items():
        totals[key] = totals.get(key, 0) + amount
    for (rp, rc), total in sorted(totals.items()):
        if total <= 0 or ((rp, rc) not in need and rp not in reshape_rps):
            continue
        inv = invs.get(rp, {}).get(rc)
        where = f"'{rc_name.get(rc, rc)}' on resource provider '{rp_uuid.get(rp, rp)}'"
        if inv is None:
            raise exc.Conflict(f"Unable to allocate inventory: Inventory for {where} invalid.")
        capacity = int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
        if total > capacity:
            raise exc.Conflict(f"Unable to allocate inventory: Unable to create allocation for {where}. "
                               "The requested amount would exceed the capacity.")


def _write_consumers(s: Session, writes: dict[str, ConsumerWrite], existing: dict[str, Any]) -> None:
    types = q.consumer_type_ids(s, {w.consumer_type for w in writes.values() if w.consumer_type})
    gone = []
    for c, w in sorted(writes.items()):
        type_id = types.get(w.consumer_type) if w.consumer_type else None
        if not w.allocations:
            if c in existing:
                gone.append(c)
            continue
        cur = existing.get(c)
        if cur is None:
            q.insert_consumer(s, c, w.project_id or "", w.user_id or "", type_id)
        else:
            values: dict[str, Any] = {}
            if w.project_id and w.project_id != cur.project_id:
                values["project_id"] = w.project_id
            if w.user_id and w.user_id != cur.user_id:
                values["user_id"] = w.user_id
            if type_id is not None and type_id != cur.consumer_type_id:
                values["consumer_type_id"] = type_id
            q.update_consumer(s, c, **values)
    q.delete_consumers(s, gone)


async def delete(pl: Placement, consumer: str) -> None:
    def run(s: Session) -> None:
        existing = q.consumers(s, [consumer], lock=True)
        old = q.for_consumers(s, [consumer])
        if not old:
            raise exc.NotFound(f"No allocations for consumer '{consumer}'")
        touched = {p for _, p, _, _ in old}
        pq.lock(s, touched)
        q.replace_for_consumers(s, [consumer], [])
        if consumer in existing:
            q.delete_consumers(s, [consumer])
        pq.bump_generations(s, touched)
        state.record_change(s, touched, horizon=pl.horizon)

    await pl.write(run)


def _for_consumer(s: Session, consumer: str) -> dict[str, Any]:
    rows = q.for_consumers(s, [consumer])
    cons = q.consumers(s, [consumer]).get(consumer)
    rps = q.provider_uuid_map(s, {p for _, p, _, _ in rows})
    names = catalog.all_names(s, ResourceClass)
    types = q.consumer_type_names(s) if cons is not None else {}
    allocs: dict[str, Any] = {}
    for _, rp, rc, used in rows:
        uuid, gen = rps[rp]
        allocs.setdefault(uuid, {"generation": gen, "resources": {}})["resources"][names[rc]] = used
    out: dict[str, Any] = {"allocations": allocs}
    if cons is not None and allocs:
        out.update(project_id=cons.project_id, user_id=cons.user_id, consumer_generation=cons.generation,
                   consumer_type=types.get(cons.consumer_type_id, "unknown"))
    return out


async def for_consumer(pl: Placement, consumer: str) -> dict[str, Any]:
    return await pl.read(_for_consumer, consumer)


def _provider(s: Session, uuid: str) -> Any:
    rp = pq.by_uuid(s, uuid)
    if rp is None:
        raise exc.ProviderNotFound(uuid)
    return rp


async def for_provider(pl: Placement, uuid: str) -> tuple[dict[str, Any], int]:
    def run(s: Session) -> tuple[dict[str, Any], int]:
        rp = _provider(s, uuid)
        names = catalog.all_names(s, ResourceClass)
        out: dict[str, Any] = {}
        for consumer, rc, used in q.for_provider(s, rp.id):
            out.setdefault(consumer, {"resources": {}})["resources"][names[rc]] = used
        return out, rp.generation

    return await pl.read(run)


async def provider_usages(pl: Placement, uuid: str) -> tuple[dict[str, int], int]:
    def run(s: Session) -> tuple[dict[str, int], int]:
        rp = _provider(s, uuid)
        invs = iq.for_providers(s, [rp.id])[rp.id]
        used = iq.usage(s, [rp.id])
        names = catalog.all_names(s, ResourceClass)
        usages = {names[rc]: used.get((rp.id, rc), 0) for rc in invs}
        for (_, rc), n in used.items():
            usages.setdefault(names[rc], n)
        return dict(sorted(usages.items())), rp.generation

    return await pl.read(run)


async def project_usages(pl: Placement, project_id: str, user_id: str | None,
                         consumer_type: str | None, *, by_type: bool) -> dict[str, Any]:
    """Totals for a project (and user); by consumer type from 1.38 on."""
    return await pl.read(_project_usages, project_id, user_id, consumer_type, by_type)


def _project_usages(s: Session, project_id: str, user_id: str | None, consumer_type: str | None,
                    by_type: bool) -> dict[str, Any]:
    names = catalog.all_names(s, ResourceClass)
    if not by_type:
        return {names[rc]: int(n) for rc, n in q.totals(s, project_id, user_id)}
    types = q.consumer_type_names(s)
    type_ids = {v: k for k, v in types.items()}
    type_filter = None
    if consumer_type not in (None, "all", "unknown"):
        if consumer_type not in type_ids:
            return {}
        type_filter = type_ids[consumer_type]
    rows = q.totals(s, project_id, user_id, type_filter, by_type=True)
    counts = q.consumer_counts(s, project_id, user_id)
    out: dict[str, dict[str, int]] = {}
    for tid, rc, n in rows:
        if consumer_type == "unknown" and tid is not None:
            continue
        tname = types.get(tid, "unknown") if tid is not None else "unknown"
        out.setdefault(tname, {"consumer_count": 0})[names[rc]] = int(n)
    for tid, n in counts.items():
        tname = types.get(tid, "unknown") if tid is not None else "unknown"
        if tname in out:
            out[tname]["consumer_count"] += n
    if consumer_type == "all":
        total: dict[str, int] = {"consumer_count": 0}
        for vals in out.values():
            for k, v in vals.items():
                total[k] = total.get(k, 0) + v
        return {"all": total} if out else {}
    return out
