"""Inventories and the usage computed from allocations, per provider and resource class."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from nubes.core.db.base import utcnow
from nubes.placement.db.models import Allocation, Inventory

FIELDS = ("total", "reserved", "min_unit", "max_unit", "step_size", "allocation_ratio")
_I = Inventory.__table__
_A = Allocation.__table__
_FOR_PROVIDERS = (select(_I.c.resource_provider_id, _I.c.resource_class_id, *(_I.c[f] for f in FIELDS))
                  .where(_I.c.resource_provider_id.in_(bindparam("ids", expanding=True))))
_USAGE = (select(_A.c.resource_provider_id, _A.c.resource_class_id, func.sum(_A.c.used))
          .where(_A.c.resource_provider_id.in_(bindparam("ids", expanding=True)))
          .group_by(_A.c.resource_provider_id, _A.c.resource_class_id))
_USAGE_EXCLUDING = _USAGE.where(_A.c.consumer_id.not_in(bindparam("consumers", expanding=True)))


def for_providers(s: Session, rp_ids: Iterable[int]) -> dict[int, dict[int, dict[str, Any]]]:
    """{rp_id: {rc_id: {field: value}}}"""
    ids = list(set(rp_ids))
    out: dict[int, dict[int, dict[str, Any]]] = {i: {} for i in ids}
    if not ids:
        return out
    for row in s.execute(_FOR_PROVIDERS, {"ids": ids}):
        out[int(row[0])][int(row[1])] = dict(zip(FIELDS, row[2:], strict=True))
    return out


def usage(s: Session, rp_ids: Iterable[int], *,
                exclude_consumers: Iterable[str] = ()) -> dict[tuple[int, int], int]:
    """{(rp_id, rc_id): used}, optionally leaving out some consumers' allocations."""
    ids = list(set(rp_ids))
    if not ids:
        return {}
    excl = sorted(set(exclude_consumers))
    if excl:
        rows = s.execute(_USAGE_EXCLUDING, {"ids": ids, "consumers": excl})
    else:
        rows = s.execute(_USAGE, {"ids": ids})
    return {(int(a), int(b)): int(c or 0) for a, b, c in rows}


def replace(s: Session, rp_id: int, inventories: dict[int, dict[str, Any]]) -> None:
    """Make the provider's inventories exactly ``inventories`` ({rc_id: fields})."""
    current = for_providers(s, [rp_id])[rp_id]
    gone = [rc for rc in current if rc not in inventories]
    if gone:
        s.execute(delete(Inventory).where(Inventory.resource_provider_id == rp_id,
                                                Inventory.resource_class_id.in_(gone)))
    now = utcnow()
    for rc, fields in inventories.items():
        if rc in current:
            if current[rc] != fields:
                s.execute(update(Inventory).where(Inventory.resource_provider_id == rp_id,
                                                        Inventory.resource_class_id == rc)
                                .values(**fields, updated_at=now))
        else:
            s.execute(insert(Inventory).values(resource_provider_id=rp_id, resource_class_id=rc,
                                                     created_at=now, updated_at=now, **fields))
