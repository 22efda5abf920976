"""Revocation events: written when tokens must stop validating, read by token validation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import RevocationEvent


async def add_event(s: AsyncSession, **fields: object) -> RevocationEvent:
    ev = RevocationEvent(**fields)
    s.add(ev)
    await s.flush()
    return ev


async def active_events(s: AsyncSession, now: datetime) -> list[RevocationEvent]:
    q = select(RevocationEvent).where(
        (RevocationEvent.expires_at.is_(None)) | (RevocationEvent.expires_at > now))
    return list((await s.execute(q)).scalars())


async def prune(s: AsyncSession, older_than: datetime) -> None:
    await s.execute(delete(RevocationEvent).where(RevocationEvent.expires_at < older_than))
