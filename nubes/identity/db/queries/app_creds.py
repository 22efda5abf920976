"""Application credential queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import ApplicationCredential


async def get(s: AsyncSession, app_cred_id: str) -> ApplicationCredential | None:
    return await s.get(ApplicationCredential, app_cred_id)


async def by_name(s: AsyncSession, user_id: str, name: str) -> ApplicationCredential | None:
    q = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id,
                                            ApplicationCredential.name == name)
    return (await s.execute(q)).scalars().first()


async def list_for_user(s: AsyncSession, user_id: str, *,
                        name: str | None = None) -> list[ApplicationCredential]:
    q = select(ApplicationCredential).where(ApplicationCredential.user_id == user_id)
    if name is not None:
        q = q.where(ApplicationCredential.name == name)
    q = q.order_by(ApplicationCredential.name, ApplicationCredential.id)
    return list((await s.execute(q)).scalars())
