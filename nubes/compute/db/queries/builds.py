"""Instances being built on a host: what the conductor's watch over dead hosts reads."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import Instance


async def building_on_hosts(s: AsyncSession) -> list[Instance]:
    """Live instances still building that have a host (sent to it, or being built there)."""
    stmt = (select(Instance).where(Instance.deleted.is_(False), Instance.vm_state == "building",
                                   Instance.host.is_not(None))
            .options(selectinload(Instance.metadata_items)).order_by(Instance.host, Instance.created_at))
    return list((await s.execute(stmt)).scalars().all())
