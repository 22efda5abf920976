"""Region queries: lookups, listing, the parent chain and what still points at a region."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Endpoint, Limit, RegisteredLimit, Region


async def get(s: AsyncSession, region_id: str) -> Region | None:
    return await s.get(Region, region_id)


async def list_regions(s: AsyncSession, *, parent_region_id: str | None = None) -> list[Region]:
    q = select(Region)
    if parent_region_id is not None:
        q = q.where(Region.parent_region_id == parent_region_id)
    return list((await s.execute(q.order_by(Region.id))).scalars())


async def ancestors(s: AsyncSession, region_id: str, limit: int = 1000) -> list[str]:
    """The ids from ``region_id`` up to its root, ``region_id`` first (stops on a loop)."""
    out: list[str] = []
    current: str | None = region_id
    while current is not None and current not in out and len(out) < limit:
        out.append(current)
        row = await s.get(Region, current)
        current = row.parent_region_id if row is not None else None
    return out


async def has_children(s: AsyncSession, region_id: str) -> bool:
    q = select(func.count()).select_from(Region).where(Region.parent_region_id == region_id)
    return bool((await s.execute(q)).scalar())


async def endpoint_count(s: AsyncSession, region_id: str) -> int:
    q = select(func.count()).select_from(Endpoint).where(Endpoint.region_id == region_id)
    return int((await s.execute(q)).scalar() or 0)


async def limit_count(s: AsyncSession, region_id: str) -> int:
    """Registered and project limits defined for this region."""
    n = (await s.execute(select(func.count()).select_from(RegisteredLimit)
                         .where(RegisteredLimit.region_id == region_id))).scalar() or 0
    n += (await s.execute(select(func.count()).select_from(Limit)
                          .where(Limit.region_id == region_id))).scalar() or 0
    return int(n)
