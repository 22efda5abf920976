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


async def prune(s: AsyncSession, now: datetime, issued_before: datetime) -> int:
    """Delete the events no token can match any more: past their own ``expires_at`` and made
    before ``issued_before`` (now less the longest a token lives, allow_expired included)."""
    result = await s.execute(delete(RevocationEvent).where(
        RevocationEvent.issued_before < issued_before,
        (RevocationEvent.expires_at.is_(None)) | (RevocationEvent.expires_at < now)))
    return int(result.rowcount or 0)
