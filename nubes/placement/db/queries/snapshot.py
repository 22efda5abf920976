"""Set-based reads that (re)build the in-memory provider index: all providers, or just some."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nubes.placement.db.models import (
    Aggregate,
    Allocation,
    Inventory,
    ProviderAggregate,
    ProviderTrait,
    ResourceClass,
    ResourceProvider,
    Trait,
)

RP = ResourceProvider


@dataclass
class Snapshot:
    providers: list[tuple] = field(default_factory=list)      # (id, uuid, name, generation, parent, root)
    # (rp, rc, total, reserved, min_unit, max_unit, step_size, allocation_ratio)
    inventories: list[tuple] = field(default_factory=list)
    traits: list[tuple[int, int]] = field(default_factory=list)
    aggregates: list[tuple[int, str]] = field(default_factory=list)
    usage: list[tuple[int, int, int]] = field(default_factory=list)


def _only(q: Any, col: Any, ids: list[int] | None) -> Any:
    return q if ids is None else q.where(col.in_(ids))


def load(s: Session, ids: Iterable[int] | None = None) -> Snapshot:
    """Read everything about the given providers (all when ids is None) in five queries."""
    idl = None if ids is None else sorted(set(ids))
    snap = Snapshot()
    if idl is not None and not idl:
        return snap
    q = select(RP.id, RP.uuid, RP.name, RP.generation, RP.parent_provider_id, RP.root_provider_id)
    snap.providers = [tuple(r) for r in s.execute(_only(q, RP.id, idl))]
    q = select(Inventory.resource_provider_id, Inventory.resource_class_id, Inventory.total,
               Inventory.reserved, Inventory.min_unit, Inventory.max_unit, Inventory.step_size,
               Inventory.allocation_ratio)
    snap.inventories = [tuple(r) for r in s.execute(_only(q, Inventory.resource_provider_id, idl))]
    q = select(ProviderTrait.resource_provider_id, ProviderTrait.trait_id)
    snap.traits = [tuple(r) for r in s.execute(_only(q, ProviderTrait.resource_provider_id, idl))]
    q = select(ProviderAggregate.resource_provider_id, Aggregate.uuid).join(
        Aggregate, Aggregate.id == ProviderAggregate.aggregate_id)
    snap.aggregates = [tuple(r) for r in
                       s.execute(_only(q, ProviderAggregate.resource_provider_id, idl))]
    q = select(Allocation.resource_provider_id, Allocation.resource_class_id,
               func.sum(Allocation.used)).group_by(Allocation.resource_provider_id,
                                                   Allocation.resource_class_id)
    snap.usage = [(int(a), int(b), int(c or 0)) for a, b, c in
                  s.execute(_only(q, Allocation.resource_provider_id, idl))]
    return snap


def names(s: Session) -> tuple[dict[int, str], dict[int, str]]:
    rcs = {int(i): n for i, n in s.execute(select(ResourceClass.id, ResourceClass.name))}
    traits = {int(i): n for i, n in s.execute(select(Trait.id, Trait.name))}
    return rcs, traits
