"""Inventories: replace all, set/add/remove one, with generation checks and in-use protection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from nubes.placement import exceptions as exc
from nubes.placement.db.models import ResourceClass
from nubes.placement.db.queries import catalog, state
from nubes.placement.db.queries import inventories as q
from nubes.placement.db.queries import providers as pq
from nubes.placement.service.runtime import Placement

MAX_INT = 2147483647
DEFAULTS = {"reserved": 0, "min_unit": 1, "max_unit": MAX_INT, "step_size": 1, "allocation_ratio": 1.0}

Inventories = dict[str, dict[str, Any]]   # {resource class name: fields}


def with_defaults(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(DEFAULTS)
    out.update({k: v for k, v in fields.items() if k in q.FIELDS})
    out["allocation_ratio"] = float(out["allocation_ratio"])
    return out


def _named(s: Session, rp_id: int) -> Inventories:
    names = catalog.all_names(s, ResourceClass)
    invs = q.for_providers(s, [rp_id])[rp_id]
    return {names[rc]: {k: (float(v) if k == "allocation_ratio" else int(v)) for k, v in f.items()}
            for rc, f in sorted(invs.items(), key=lambda kv: names[kv[0]])}


async def get(pl: Placement, uuid: str) -> tuple[Inventories, int]:
    def run(s: Session) -> tuple[Inventories, int]:
        rp = pq.by_uuid(s, uuid)
        if rp is None:
            raise exc.ProviderNotFound(uuid)
        return _named(s, rp.id), rp.generation

    return await pl.read(run)


def _validate(uuid: str, rc: str, f: dict[str, Any], allow_reserved_eq_total: bool) -> None:
    prefix = f"Unable to update inventory for resource provider {uuid}: Invalid inventory for '{rc}' " \
             f"on resource provider '{uuid}'."
    if f["reserved"] > f["total"] or (f["reserved"] == f["total"] and not allow_reserved_eq_total):
        raise exc.BadRequest(f"{prefix} The reserved value is greater than total.")
    if f["min_unit"] > f["max_unit"]:
        raise exc.BadRequest(f"{prefix} The minimum unit is greater than the maximum unit.")


async def modify(pl: Placement, uuid: str, generation: int | None,
                 change: Callable[[Inventories], Inventories], *,
                 allow_reserved_eq_total: bool = True) -> tuple[Inventories, int]:
    """Lock the provider, check its generation, apply ``change`` and refuse to go below usage."""
    return await pl.write(_modify, pl.horizon, uuid, generation, change, allow_reserved_eq_total)


def _modify(s: Session, horizon: int, uuid: str, generation: int | None,
            change: Callable[[Inventories], Inventories],
            allow_reserved_eq_total: bool) -> tuple[Inventories, int]:
    rp = pq.by_uuid(s, uuid)
    if rp is None:
        raise exc.ProviderNotFound(uuid)
    rp = (pq.lock(s, [rp.id]))[rp.id]
    if generation is not None and rp.generation != generation:
        raise exc.ConcurrentUpdate("resource provider generation conflict")
    current = _named(s, rp.id)
    wanted = {rc: with_defaults(f) for rc, f in change(current).items()}
    ids = catalog.ids_for(s, ResourceClass, wanted)
    unknown = sorted(set(wanted) - set(ids))
    if unknown:
        raise exc.BadRequest(f"Unknown resource class in inventory for resource provider {uuid}: "
                             f"No such resource class {unknown[0]}.")
    for rc, f in wanted.items():
        _validate(uuid, rc, f, allow_reserved_eq_total)
    used = q.usage(s, [rp.id])
    rc_names = catalog.all_names(s, ResourceClass)
    for (_, rc_id), amount in sorted(used.items()):
        if amount <= 0:
            continue
        rc = rc_names[rc_id]
        if rc not in wanted:
            raise exc.InventoryInUse(f"update conflict: Inventory for '{rc}' on resource provider "
                                     f"'{uuid}' in use.")
        inv = wanted[rc]
        capacity = int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"])
        if amount > capacity:
            raise exc.InventoryInUse(
                f"update conflict: Inventory for '{rc}' on resource provider '{uuid}' in use: "
                f"{amount} already allocated but the new capacity would be {capacity}.")
    q.replace(s, rp.id, {ids[rc]: f for rc, f in wanted.items()})
    pq.bump_generations(s, [rp.id])
    state.record_change(s, [rp.id], horizon=horizon)
    return {rc: _clean(f) for rc, f in sorted(wanted.items())}, rp.generation + 1


def _clean(f: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if k == "allocation_ratio" else int(v)) for k, v in f.items()}
