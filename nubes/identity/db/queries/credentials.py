"""Credential queries (/v3/credentials and the EC2 views of the same rows)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Credential


async def get(s: AsyncSession, credential_id: str) -> Credential | None:
    return await s.get(Credential, credential_id)


async def list_credentials(s: AsyncSession, *, user_id: str | None = None,
                           type: str | None = None) -> list[Credential]:  # noqa: A002
    q = select(Credential)
    if user_id is not None:
        q = q.where(Credential.user_id == user_id)
    if type is not None:
        q = q.where(Credential.type == type)
    return list((await s.execute(q.order_by(Credential.user_id, Credential.id))).scalars())
