"""Resource providers: create, rename, re-parent, delete, and their traits and aggregates."""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.placement import exceptions as exc
from nubes.placement.db.models import Trait
from nubes.placement.db.queries import catalog, state
from nubes.placement.db.queries import providers as q
from nubes.placement.service.runtime import Placement


def _details(s: Session, rp: Any) -> dict[str, Any]:
    d = q.as_dict(rp)
    uuids = q.uuids_for(s, [rp.parent_provider_id, rp.root_provider_id])
    d["parent_provider_uuid"] = uuids.get(rp.parent_provider_id)
    d["root_provider_uuid"] = uuids.get(rp.root_provider_id, rp.uuid)
    return d


def _get(s: Session, uuid: str) -> Any:
    rp = q.by_uuid(s, uuid)
    if rp is None:
        raise exc.ProviderNotFound(uuid)
    return rp


def _locked(s: Session, uuid: str, generation: int | None) -> Any:
    rp = _get(s, uuid)
    rp = q.lock(s, [rp.id])[rp.id]
    if generation is not None and rp.generation != generation:
        raise exc.ConcurrentUpdate("resource provider generation conflict")
    return rp


async def show(pl: Placement, uuid: str) -> dict[str, Any]:
    return await pl.read(lambda s: _details(s, _get(s, uuid)))


def _duplicate(name: str) -> exc.DuplicateName:
    return exc.DuplicateName(f"Conflicting resource provider name: {name} already exists.")


async def create(pl: Placement, name: str, uuid: str | None, parent_uuid: str | None) -> dict[str, Any]:
    uuid = uuid or str(uuidlib.uuid4())

    def run(s: Session) -> dict[str, Any]:
        if q.by_name(s, name) is not None:
            raise _duplicate(name)
        if q.by_uuid(s, uuid) is not None:
            raise exc.DuplicateName(f"Conflicting resource provider uuid: {uuid} already exists.")
        parent_id = root_id = None
        if parent_uuid is not None:
            parent = q.by_uuid(s, parent_uuid)
            if parent is None:
                raise exc.BadRequest(f'Unable to create resource provider "{name}", {uuid}: '
                                     "parent provider UUID does not exist.")
            parent_id, root_id = parent.id, parent.root_provider_id
        rp = q.create(s, uuid, name, parent_id, root_id)
        state.record_change(s, [rp.id], horizon=pl.horizon)
        return _details(s, rp)

    try:
        return await pl.write(run)
    except IntegrityError:
        raise _duplicate(name) from None


async def update(pl: Placement, uuid: str, name: str, parent_uuid: Any, *,
                 allow_reparent: bool) -> dict[str, Any]:
    """parent_uuid is ``...`` when the body did not mention it."""

    def run(s: Session) -> dict[str, Any]:
        rp = _locked(s, uuid, None)
        touched = {rp.id}
        if name != rp.name:
            other = q.by_name(s, name)
            if other is not None and other.id != rp.id:
                raise _duplicate(name)
            rp.name = name
        if parent_uuid is not ...:
            touched |= _reparent(s, rp, parent_uuid, allow_reparent)
        s.flush()
        state.record_change(s, touched, horizon=pl.horizon)
        return _details(s, rp)

    try:
        return await pl.write(run)
    except IntegrityError:
        raise _duplicate(name) from None


def _reparent(s: Session, rp: Any, parent_uuid: str | None, allow: bool) -> set[int]:
    current = q.uuids_for(s, [rp.parent_provider_id]).get(rp.parent_provider_id)
    if parent_uuid == current:
        return set()
    prefix = f"Unable to save resource provider {rp.uuid}: Object action update failed because: "
    if current is not None and not allow:
        msg = "re-parenting a provider is not currently allowed." if parent_uuid else \
            "un-parenting a provider is not currently allowed."
        raise exc.BadRequest(prefix + msg)
    below = q.descendants(s, rp.id, rp.root_provider_id)
    if parent_uuid is None:
        new_parent_id, new_root = None, rp.id
    else:
        parent = q.by_uuid(s, parent_uuid)
        if parent is None:
            raise exc.BadRequest(prefix + "parent provider UUID does not exist.")
        if parent.id == rp.id or parent.id in {d.id for d in below}:
            raise exc.BadRequest(prefix + "creating loop in the provider tree is not allowed.")
        new_parent_id, new_root = parent.id, parent.root_provider_id
    rp.parent_provider_id, rp.root_provider_id = new_parent_id, new_root
    for d in below:
        d.root_provider_id = new_root
    return {rp.id, *(d.id for d in below)}


async def delete(pl: Placement, uuid: str) -> None:
    def run(s: Session) -> None:
        rp = _locked(s, uuid, None)
        if q.has_children(s, rp.id):
            raise exc.CannotDeleteParent(
                f"Unable to delete parent resource provider {uuid}: It has child resource providers.")
        if q.has_allocations(s, rp.id):
            raise exc.ProviderInUse(f"Unable to delete resource provider {uuid}: "
                                    "Resource provider has allocations.")
        q.remove(s, rp.id)
        state.record_change(s, [rp.id], horizon=pl.horizon)

    await pl.write(run)


# ---------------------------------------------------------------- traits

async def traits(pl: Placement, uuid: str) -> tuple[list[str], int]:
    def run(s: Session) -> tuple[list[str], int]:
        rp = _get(s, uuid)
        return q.trait_names(s, rp.id), rp.generation

    return await pl.read(run)


async def set_traits(pl: Placement, uuid: str, generation: int | None,
                     names: list[str]) -> tuple[list[str], int]:
    def run(s: Session) -> tuple[list[str], int]:
        ids = catalog.ids_for(s, Trait, names)
        missing = sorted(set(names) - set(ids))
        if missing:
            raise exc.BadRequest(f"No such trait(s): {', '.join(missing)}.")
        rp = _locked(s, uuid, generation)
        q.replace_traits(s, rp.id, ids.values())
        q.bump_generations(s, [rp.id])
        state.record_change(s, [rp.id], horizon=pl.horizon)
        return sorted(set(names)), rp.generation + 1

    return await pl.write(run)


# ---------------------------------------------------------------- aggregates

async def aggregates(pl: Placement, uuid: str) -> tuple[list[str], int]:
    def run(s: Session) -> tuple[list[str], int]:
        rp = _get(s, uuid)
        return q.aggregate_uuids(s, rp.id), rp.generation

    return await pl.read(run)


async def set_aggregates(pl: Placement, uuid: str, generation: int | None, aggs: list[str], *,
                         bump: bool) -> tuple[list[str], int]:
    def run(s: Session) -> tuple[list[str], int]:
        rp = _locked(s, uuid, generation)
        ids = q.ensure_aggregates(s, aggs)
        q.replace_aggregates(s, rp.id, ids.values())
        gen = rp.generation
        if bump:
            q.bump_generations(s, [rp.id])
            gen += 1
        state.record_change(s, [rp.id], horizon=pl.horizon)
        return sorted(set(aggs)), gen

    return await pl.write(run)
