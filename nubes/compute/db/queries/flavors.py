"""Flavor rows: lookups by flavorid, listing with Nova's filters and paging, access lists."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import Flavor, FlavorProject

SORT_KEYS = {"flavorid": Flavor.flavorid, "id": Flavor.flavorid, "name": Flavor.name,
             "memory_mb": Flavor.memory_mb, "vcpus": Flavor.vcpus, "root_gb": Flavor.root_gb,
             "ephemeral_gb": Flavor.ephemeral_gb, "swap": Flavor.swap, "rxtx_factor": Flavor.rxtx_factor,
             "created_at": Flavor.created_at, "description": Flavor.description,
             "is_public": Flavor.is_public, "disabled": Flavor.disabled}


def _loaded() -> Any:
    return select(Flavor).options(selectinload(Flavor.extra_specs), selectinload(Flavor.projects))


async def get(s: AsyncSession, flavorid: str) -> Flavor | None:
    return (await s.execute(_loaded().where(Flavor.flavorid == flavorid))).scalars().first()


async def by_name(s: AsyncSession, name: str) -> Flavor | None:
    return (await s.execute(select(Flavor).where(Flavor.name == name))).scalars().first()


def accessible(project_id: str | None) -> ColumnElement:
    """Public flavors, and private ones shared with the project."""
    return or_(Flavor.is_public.is_(True),
               exists().where(FlavorProject.flavor_id == Flavor.id, FlavorProject.project_id == project_id))


async def page(s: AsyncSession, *, where: list[ColumnElement], sort_key: str, sort_dir: str,
               limit: int | None, marker: str | None) -> list[Flavor]:
    column = SORT_KEYS[sort_key]
    stmt = _loaded().where(*where)
    asc = sort_dir == "asc"
    if marker is not None:
        row = await get(s, marker)
        if row is None:
            raise LookupError(marker)
        value = getattr(row, column.key)
        after = column > value if asc else column < value
        tie = (Flavor.flavorid > row.flavorid) if asc else (Flavor.flavorid < row.flavorid)
        stmt = stmt.where(or_(after, (column == value) & tie))
    order = [column.asc() if asc else column.desc(),
             Flavor.flavorid.asc() if asc else Flavor.flavorid.desc()]
    stmt = stmt.order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())
