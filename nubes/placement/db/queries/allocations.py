"""Consumers, their allocations, and usage totals per project and user."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.core.db.base import utcnow
from nubes.placement.db.models import Allocation, Consumer, ConsumerType, ResourceProvider

# The claim path's statements are built once (bound parameters, expanding IN lists): building
# SQLAlchemy statements per call cost more than running them on SQLite.
_C = Consumer.__table__
_A = Allocation.__table__
_CONSUMERS = (select(_C.c.id, _C.c.uuid, _C.c.project_id, _C.c.user_id, _C.c.generation,
                     _C.c.consumer_type_id)
              .where(_C.c.uuid.in_(bindparam("uuids", expanding=True))).order_by(_C.c.uuid))
_CONSUMERS_LOCKED = _CONSUMERS.with_for_update()
_FOR_CONSUMERS = (select(_A.c.consumer_id, _A.c.resource_provider_id, _A.c.resource_class_id, _A.c.used)
                  .where(_A.c.consumer_id.in_(bindparam("uuids", expanding=True))))
_DELETE_FOR_CONSUMERS = delete(_A).where(_A.c.consumer_id.in_(bindparam("uuids", expanding=True)))
_INSERT_ALLOCATION = insert(_A)
_INSERT_CONSUMER = insert(_C)


def consumers(s: Session, uuids: Iterable[str], *, lock: bool = False) -> dict[str, Any]:
    """{uuid: row with id, uuid, project_id, user_id, generation, consumer_type_id}"""
    uuids = sorted(set(uuids))
    if not uuids:
        return {}
    rows = s.execute(_CONSUMERS_LOCKED if lock else _CONSUMERS, {"uuids": uuids})
    return {r.uuid: r for r in rows}


def consumer_type_ids(s: Session, names: Iterable[str]) -> dict[str, int]:
    names = sorted(set(names))
    if not names:
        return {}
    have = {n: int(i) for n, i in s.execute(select(ConsumerType.name, ConsumerType.id)
                                                   .where(ConsumerType.name.in_(names)))}
    for n in names:
        if n not in have:
            try:
                with s.begin_nested():
                    s.execute(insert(ConsumerType).values(name=n))
            except IntegrityError:
                pass
    missing = [n for n in names if n not in have]
    if missing:
        have.update({n: int(i) for n, i in s.execute(select(ConsumerType.name, ConsumerType.id)
                                                            .where(ConsumerType.name.in_(missing)))})
    return have


def consumer_type_names(s: Session) -> dict[int, str]:
    return {int(i): n for i, n in s.execute(select(ConsumerType.id, ConsumerType.name))}


def insert_consumer(s: Session, uuid: str, project_id: str, user_id: str,
                          type_id: int | None) -> None:
    now = utcnow()
    s.execute(_INSERT_CONSUMER, {"uuid": uuid, "project_id": project_id, "user_id": user_id, "generation": 1,
                                 "consumer_type_id": type_id, "created_at": now, "updated_at": now})


def update_consumer(s: Session, uuid: str, **values: Any) -> None:
    s.execute(update(Consumer).where(Consumer.uuid == uuid)
                    .values(generation=Consumer.generation + 1, updated_at=utcnow(), **values))


def delete_consumers(s: Session, uuids: Iterable[str]) -> None:
    uuids = list(set(uuids))
    if uuids:
        s.execute(delete(Consumer).where(Consumer.uuid.in_(uuids)))


def for_consumers(s: Session, uuids: Iterable[str]) -> list[tuple[str, int, int, int]]:
    """[(consumer_uuid, rp_id, rc_id, used)]"""
    uuids = list(set(uuids))
    if not uuids:
        return []
    return [(c, int(p), int(r), int(u)) for c, p, r, u in s.execute(_FOR_CONSUMERS, {"uuids": uuids})]


def for_provider(s: Session, rp_id: int) -> list[tuple[str, int, int]]:
    q = select(Allocation.consumer_id, Allocation.resource_class_id, Allocation.used).where(
        Allocation.resource_provider_id == rp_id)
    return [(c, int(r), int(u)) for c, r, u in s.execute(q)]


def replace_for_consumers(s: Session, uuids: Iterable[str],
                          rows: list[tuple[str, int, int, int]], *, had_any: bool = True) -> None:
    """Delete the consumers' allocations and write ``rows`` [(consumer, rp_id, rc_id, used)]."""
    uuids = list(set(uuids))
    if uuids and had_any:
        s.execute(_DELETE_FOR_CONSUMERS, {"uuids": uuids})
    if rows:
        now = utcnow()
        s.execute(_INSERT_ALLOCATION, [
            {"consumer_id": c, "resource_provider_id": p, "resource_class_id": r, "used": u,
             "created_at": now, "updated_at": now} for c, p, r, u in rows])


def totals(s: Session, project_id: str, user_id: str | None,
                 consumer_type_id: int | None = None, *, by_type: bool = False) -> list[tuple]:
    """Usage sums per resource class (and consumer type) for a project, optionally one user."""
    cols = [Allocation.resource_class_id, func.sum(Allocation.used)]
    group = [Allocation.resource_class_id]
    if by_type:
        cols.insert(0, Consumer.consumer_type_id)
        group.insert(0, Consumer.consumer_type_id)
    q = (select(*cols).join(Consumer, Consumer.uuid == Allocation.consumer_id)
         .where(Consumer.project_id == project_id).group_by(*group))
    if user_id is not None:
        q = q.where(Consumer.user_id == user_id)
    if consumer_type_id is not None:
        q = q.where(Consumer.consumer_type_id == consumer_type_id)
    return [tuple(r) for r in s.execute(q)]


def consumer_counts(s: Session, project_id: str, user_id: str | None) -> dict[int | None, int]:
    q = (select(Consumer.consumer_type_id, func.count(func.distinct(Consumer.uuid)))
         .join(Allocation, Allocation.consumer_id == Consumer.uuid)
         .where(Consumer.project_id == project_id).group_by(Consumer.consumer_type_id))
    if user_id is not None:
        q = q.where(Consumer.user_id == user_id)
    return {t: int(n) for t, n in s.execute(q)}


def provider_uuid_map(s: Session, ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    ids = list(set(ids))
    if not ids:
        return {}
    q = select(ResourceProvider.id, ResourceProvider.uuid, ResourceProvider.generation).where(
        ResourceProvider.id.in_(ids))
    return {int(i): (u, int(g)) for i, u, g in s.execute(q)}
