"""Resource providers: lookups, row locks in id order, trees, and each provider's traits and aggregates."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.core.db.base import utcnow
from nubes.placement.db.models import (
    Aggregate,
    Allocation,
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceProvider,
    Trait,
)

RP = ResourceProvider


def by_uuid(s: Session, uuid: str) -> RP | None:
    return (s.execute(select(RP).where(RP.uuid == uuid))).scalar_one_or_none()


def by_name(s: Session, name: str) -> RP | None:
    return (s.execute(select(RP).where(RP.name == name))).scalar_one_or_none()


def by_ids(s: Session, ids: Iterable[int]) -> dict[int, RP]:
    ids = list(set(ids))
    if not ids:
        return {}
    return {rp.id: rp for rp in (s.execute(select(RP).where(RP.id.in_(ids)))).scalars()}


def ids_by_uuid(s: Session, uuids: Iterable[str]) -> dict[str, int]:
    uuids = list(set(uuids))
    if not uuids:
        return {}
    return {u: int(i) for u, i in s.execute(select(RP.uuid, RP.id).where(RP.uuid.in_(uuids)))}


def lock(s: Session, ids: Iterable[int]) -> dict[int, RP]:
    """SELECT ... FOR UPDATE the providers in id order (one order everywhere: no deadlocks).

    On SQLite the clause is dropped: the writer already holds the database (BEGIN IMMEDIATE).
    """
    ids = sorted(set(ids))
    if not ids:
        return {}
    q = select(RP).where(RP.id.in_(ids)).order_by(RP.id).with_for_update()
    rows = (s.execute(q.execution_options(populate_existing=True))).scalars()
    return {rp.id: rp for rp in rows}


_T = RP.__table__
_LOCK_COLS = (_T.c.id, _T.c.uuid, _T.c.generation)
_LOCK_BY_UUID = (select(*_LOCK_COLS).where(_T.c.uuid.in_(bindparam("uuids", expanding=True)))
                 .order_by(_T.c.id).with_for_update())
_LOCK_BY_ID = (select(*_LOCK_COLS).where(_T.c.id.in_(bindparam("ids", expanding=True)))
               .order_by(_T.c.id).with_for_update())
_LOCK_BY_EITHER = (select(*_LOCK_COLS).where(or_(_T.c.uuid.in_(bindparam("uuids", expanding=True)),
                                                 _T.c.id.in_(bindparam("ids", expanding=True))))
                   .order_by(_T.c.id).with_for_update())
_BUMP = (update(_T).where(_T.c.id.in_(bindparam("ids", expanding=True)))
         .values(generation=_T.c.generation + 1, updated_at=bindparam("now")))


def lock_by(s: Session, uuids: Iterable[str], ids: Iterable[int]) -> dict[int, Any]:
    """Lock providers named by uuid or by id, in id order, in one statement: {id: (id, uuid, generation)}."""
    uuids, ids = sorted(set(uuids)), sorted(set(ids))
    if uuids and ids:
        rows = s.execute(_LOCK_BY_EITHER, {"uuids": uuids, "ids": ids})
    elif uuids:
        rows = s.execute(_LOCK_BY_UUID, {"uuids": uuids})
    elif ids:
        rows = s.execute(_LOCK_BY_ID, {"ids": ids})
    else:
        return {}
    return {r.id: r for r in rows}


def bump_generations(s: Session, ids: Iterable[int]) -> None:
    ids = sorted(set(ids))
    if ids:
        s.execute(_BUMP, {"ids": ids, "now": utcnow()})


def create(s: Session, uuid: str, name: str, parent_id: int | None, root_id: int | None) -> RP:
    now = utcnow()
    rp = RP(uuid=uuid, name=name, generation=0, parent_provider_id=parent_id, root_provider_id=root_id,
            created_at=now, updated_at=now)
    s.add(rp)
    s.flush()
    if rp.root_provider_id is None:
        rp.root_provider_id = rp.id
        s.flush()
    return rp


def descendants(s: Session, rp_id: int, root_id: int) -> list[RP]:
    """Every provider below rp_id (not including it), walking its tree in memory."""
    tree = (s.execute(select(RP).where(RP.root_provider_id == root_id))).scalars().all()
    children: dict[int, list[RP]] = {}
    for p in tree:
        if p.parent_provider_id is not None:
            children.setdefault(p.parent_provider_id, []).append(p)
    out, todo = [], [rp_id]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child.id)
    return out


def has_children(s: Session, rp_id: int) -> bool:
    return bool((s.execute(select(exists().where(RP.parent_provider_id == rp_id)))).scalar())


def has_allocations(s: Session, rp_id: int) -> bool:
    return bool((s.execute(select(exists().where(Allocation.resource_provider_id == rp_id)))).scalar())


def remove(s: Session, rp_id: int) -> None:
    s.execute(delete(Inventory).where(Inventory.resource_provider_id == rp_id))
    s.execute(delete(ProviderTrait).where(ProviderTrait.resource_provider_id == rp_id))
    s.execute(delete(ProviderAggregate).where(ProviderAggregate.resource_provider_id == rp_id))
    s.execute(delete(RP).where(RP.id == rp_id))


def list_all(s: Session) -> list[RP]:
    return list((s.execute(select(RP).order_by(RP.id))).scalars())


def uuids_for(s: Session, ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(i for i in ids if i is not None))
    if not ids:
        return {}
    return {int(i): u for i, u in s.execute(select(RP.id, RP.uuid).where(RP.id.in_(ids)))}


# ---------------------------------------------------------------- traits

def trait_names(s: Session, rp_id: int) -> list[str]:
    q = (select(Trait.name).join(ProviderTrait, ProviderTrait.trait_id == Trait.id)
         .where(ProviderTrait.resource_provider_id == rp_id))
    return sorted((s.execute(q)).scalars())


def replace_traits(s: Session, rp_id: int, trait_ids: Iterable[int]) -> None:
    s.execute(delete(ProviderTrait).where(ProviderTrait.resource_provider_id == rp_id))
    rows = [{"resource_provider_id": rp_id, "trait_id": t} for t in sorted(set(trait_ids))]
    if rows:
        s.execute(insert(ProviderTrait), rows)


# ---------------------------------------------------------------- aggregates

def aggregate_uuids(s: Session, rp_id: int) -> list[str]:
    q = (select(Aggregate.uuid).join(ProviderAggregate, ProviderAggregate.aggregate_id == Aggregate.id)
         .where(ProviderAggregate.resource_provider_id == rp_id))
    return sorted((s.execute(q)).scalars())


def ensure_aggregates(s: Session, uuids: Iterable[str]) -> dict[str, int]:
    uuids = sorted(set(uuids))
    if not uuids:
        return {}
    have = {u: int(i) for u, i in s.execute(select(Aggregate.uuid, Aggregate.id)
                                                   .where(Aggregate.uuid.in_(uuids)))}
    missing = [u for u in uuids if u not in have]
    for u in missing:
        try:
            with s.begin_nested():   # another writer may create the same aggregate
                s.execute(insert(Aggregate).values(uuid=u))
        except IntegrityError:
            pass
    if missing:
        have.update({u: int(i) for u, i in s.execute(select(Aggregate.uuid, Aggregate.id)
                                                            .where(Aggregate.uuid.in_(missing)))})
    return have


def replace_aggregates(s: Session, rp_id: int, agg_ids: Iterable[int]) -> None:
    s.execute(delete(ProviderAggregate).where(ProviderAggregate.resource_provider_id == rp_id))
    rows = [{"resource_provider_id": rp_id, "aggregate_id": a} for a in sorted(set(agg_ids))]
    if rows:
        s.execute(insert(ProviderAggregate), rows)


def as_dict(rp: RP) -> dict[str, Any]:
    return {"id": rp.id, "uuid": rp.uuid, "name": rp.name, "generation": rp.generation,
            "parent_provider_id": rp.parent_provider_id, "root_provider_id": rp.root_provider_id,
            "updated_at": rp.updated_at}
