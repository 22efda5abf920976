"""Key pair rows per user."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.compute.db.models import KeyPair


async def get(s: AsyncSession, user_id: str, name: str) -> KeyPair | None:
    return (await s.execute(select(KeyPair).where(KeyPair.user_id == user_id, KeyPair.name == name))
            ).scalars().first()


async def list_for(s: AsyncSession, user_id: str, *, limit: int | None = None,
                   marker: str | None = None) -> list[KeyPair]:
    stmt = select(KeyPair).where(KeyPair.user_id == user_id)
    if marker is not None:
        stmt = stmt.where(KeyPair.name > marker)
    stmt = stmt.order_by(KeyPair.name)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())


async def count(s: AsyncSession, user_id: str) -> int:
    return int((await s.execute(select(func.count()).select_from(KeyPair)
                                .where(KeyPair.user_id == user_id))).scalar_one())
