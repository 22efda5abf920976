"""Instances that ran in a time window (deleted ones too), for os-simple-tenant-usage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.compute.db.models import Instance


async def active_in_window(s: AsyncSession, start: datetime, stop: datetime, *, project_id: str | None,
                           limit: int | None, marker: str | None) -> list[Instance]:
    """Instances launched before ``stop`` and not terminated before ``start`` (Nova's
    ``get_active_by_window_joined``), oldest first; after instance ``marker`` when given."""
    stmt = select(Instance).where(Instance.launched_at.is_not(None), Instance.launched_at < stop,
                                  or_(Instance.terminated_at.is_(None), Instance.terminated_at > start))
    if project_id is not None:
        stmt = stmt.where(Instance.project_id == project_id)
    if marker is not None:
        row = (await s.execute(select(Instance).where(Instance.id == marker))).scalars().first()
        if row is None:
            raise LookupError(marker)
        stmt = stmt.where(or_(Instance.created_at > row.created_at,
                              and_(Instance.created_at == row.created_at, Instance.id > row.id)))
    stmt = stmt.order_by(Instance.created_at, Instance.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())
