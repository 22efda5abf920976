"""Resource classes and traits: names, ids, creation of custom ones and seeding of standard ones."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from nubes.core.db.base import utcnow
from nubes.placement.db.models import (
    Allocation,
    Inventory,
    ProviderTrait,
    ResourceProvider,
    Trait,
)


def seed(s: Session, model: type, names: Iterable[str]) -> int:
    have = set((s.execute(select(model.name))).scalars())
    missing = [n for n in names if n not in have]
    if missing:
        s.execute(insert(model), [{"name": n} for n in missing])
    return len(missing)


def all_names(s: Session, model: type) -> dict[int, str]:
    return {int(i): n for i, n in s.execute(select(model.id, model.name))}


def get(s: Session, model: type, name: str):
    return (s.execute(select(model).where(model.name == name))).scalar_one_or_none()


_IDS_FOR: dict[type, Any] = {}


def ids_for(s: Session, model: type, names: Iterable[str]) -> dict[str, int]:
    names = sorted(set(names))
    if not names:
        return {}
    stmt = _IDS_FOR.get(model)
    if stmt is None:
        t = model.__table__
        stmt = select(t.c.name, t.c.id).where(t.c.name.in_(bindparam("names", expanding=True)))
        _IDS_FOR[model] = stmt
    return {n: int(i) for n, i in s.execute(stmt, {"names": names})}


def create(s: Session, model: type, name: str) -> None:
    s.execute(insert(model).values(name=name, created_at=utcnow(), updated_at=utcnow()))


def rename(s: Session, model: type, old: str, new: str) -> None:
    s.execute(update(model).where(model.name == old).values(name=new, updated_at=utcnow()))


def remove(s: Session, model: type, name: str) -> None:
    s.execute(delete(model).where(model.name == name))


def resource_class_in_use(s: Session, rc_id: int) -> bool:
    inv = s.execute(select(exists().where(Inventory.resource_class_id == rc_id)))
    alloc = s.execute(select(exists().where(Allocation.resource_class_id == rc_id)))
    return bool(inv.scalar()) or bool(alloc.scalar())


def trait_in_use(s: Session, trait_id: int) -> bool:
    return bool((s.execute(select(exists().where(ProviderTrait.trait_id == trait_id)))).scalar())


def list_traits(s: Session, *, prefix: str | None = None, names: list[str] | None = None,
                      associated: bool | None = None) -> list[str]:
    q = select(Trait.name)
    if prefix is not None:
        q = q.where(Trait.name.startswith(prefix, autoescape=True))
    if names is not None:
        q = q.where(Trait.name.in_(names))
    if associated is not None:
        used = select(ProviderTrait.trait_id).distinct()
        q = q.where(Trait.id.in_(used) if associated else Trait.id.not_in(used))
    return sorted((s.execute(q)).scalars())


def count_providers(s: Session) -> int:
    return int((s.execute(select(func.count(ResourceProvider.id)))).scalar_one())
