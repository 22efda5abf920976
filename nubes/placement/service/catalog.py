"""Resource classes and traits: the standard ones are fixed, CUSTOM_* ones are created and removed."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nubes.placement import exceptions as exc
from nubes.placement import standard
from nubes.placement.db.models import ResourceClass, Trait
from nubes.placement.db.queries import catalog as q
from nubes.placement.db.queries import state
from nubes.placement.service.runtime import Placement


async def resource_classes(pl: Placement) -> list[str]:
    names = await pl.read(q.all_names, ResourceClass)
    order = {n: i for i, n in enumerate(standard.resource_classes())}
    return sorted(names.values(), key=lambda n: (order.get(n, len(order)), n))


async def resource_class_exists(pl: Placement, name: str) -> bool:
    return await pl.read(lambda s: q.get(s, ResourceClass, name) is not None)


async def create_resource_class(pl: Placement, name: str, *, exist_ok: bool = False) -> bool:
    """Create a custom class; returns False when it already existed and exist_ok is set."""
    def run(s: Session) -> bool:
        if q.get(s, ResourceClass, name) is not None:
            if exist_ok:
                return False
            raise exc.DuplicateName(f"Conflicting resource class already exists: {name}")
        q.create(s, ResourceClass, name)
        state.record_change(s, [state.NAMES_CHANGED], horizon=pl.horizon)
        return True

    try:
        return await pl.write(run)
    except IntegrityError:
        if exist_ok:
            return False
        raise exc.DuplicateName(f"Conflicting resource class already exists: {name}") from None


async def rename_resource_class(pl: Placement, old: str, new: str) -> None:
    if old in standard.resource_classes():
        raise exc.BadRequest(f"Cannot update standard resource class {old}")

    def run(s: Session) -> None:
        if q.get(s, ResourceClass, old) is None:
            raise exc.NotFound(f"No such resource class {old}.")
        if q.get(s, ResourceClass, new) is not None:
            raise exc.DuplicateName(f"Resource class already exists: {new}")
        q.rename(s, ResourceClass, old, new)
        state.record_change(s, [state.NAMES_CHANGED], horizon=pl.horizon)

    try:
        await pl.write(run)
    except IntegrityError:
        raise exc.DuplicateName(f"Resource class already exists: {new}") from None


async def delete_resource_class(pl: Placement, name: str) -> None:
    def run(s: Session) -> None:
        rc = q.get(s, ResourceClass, name)
        if rc is None:
            raise exc.NotFound(f"No such resource class {name}.")
        if name in standard.resource_classes():
            raise exc.BadRequest(f"Cannot delete standard resource class {name}: ")
        if q.resource_class_in_use(s, rc.id):
            raise exc.Conflict(f"Unable to delete resource class {name}. The resource class is in use "
                               "in inventory.")
        q.remove(s, ResourceClass, name)
        state.record_change(s, [state.NAMES_CHANGED], horizon=pl.horizon)

    await pl.write(run)


async def traits(pl: Placement, *, prefix: str | None = None, names: list[str] | None = None,
                 associated: bool | None = None) -> list[str]:
    return await pl.read(lambda s: q.list_traits(s, prefix=prefix, names=names, associated=associated))


async def trait_exists(pl: Placement, name: str) -> bool:
    return await pl.read(lambda s: q.get(s, Trait, name) is not None)


async def create_trait(pl: Placement, name: str) -> bool:
    """True when created, False when it already existed."""
    def run(s: Session) -> bool:
        if q.get(s, Trait, name) is not None:
            return False
        q.create(s, Trait, name)
        state.record_change(s, [state.NAMES_CHANGED], horizon=pl.horizon)
        return True

    try:
        return await pl.write(run)
    except IntegrityError:
        return False


async def delete_trait(pl: Placement, name: str) -> None:
    def run(s: Session) -> None:
        trait = q.get(s, Trait, name)
        if trait is None:
            raise exc.NotFound(f"No such trait(s): {name}.")
        if name in standard.traits():
            raise exc.BadRequest(f"Cannot delete standard trait {name}.")
        if q.trait_in_use(s, trait.id):
            raise exc.Conflict(f"The trait {name} is in use by a resource provider.")
        q.remove(s, Trait, name)
        state.record_change(s, [state.NAMES_CHANGED], horizon=pl.horizon)

    await pl.write(run)
