"""Quota rows: per-project and per-user limits, quota classes, and the per-project lock row."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.compute.db.models import QuotaClass, QuotaLimit, QuotaLock


async def limits(s: AsyncSession, project_id: str, user_id: str = "") -> dict[str, int]:
    rows = (await s.execute(select(QuotaLimit).where(QuotaLimit.project_id == project_id,
                                                     QuotaLimit.user_id == user_id))).scalars().all()
    return {r.resource: r.hard_limit for r in rows}


async def set_limit(s: AsyncSession, project_id: str, user_id: str, resource: str, hard_limit: int) -> None:
    row = await s.get(QuotaLimit, (project_id, user_id, resource))
    if row is None:
        s.add(QuotaLimit(project_id=project_id, user_id=user_id, resource=resource, hard_limit=hard_limit))
    else:
        row.hard_limit = hard_limit


async def delete_limits(s: AsyncSession, project_id: str, user_id: str | None) -> None:
    """Drop a user's overrides (user_id given) or the project's and all its users' (None)."""
    stmt = delete(QuotaLimit).where(QuotaLimit.project_id == project_id)
    if user_id is not None:
        stmt = stmt.where(QuotaLimit.user_id == user_id)
    await s.execute(stmt)


async def class_limits(s: AsyncSession, class_name: str) -> dict[str, int]:
    rows = (await s.execute(select(QuotaClass).where(QuotaClass.class_name == class_name))).scalars().all()
    return {r.resource: r.hard_limit for r in rows}


async def set_class_limit(s: AsyncSession, class_name: str, resource: str, hard_limit: int) -> None:
    row = await s.get(QuotaClass, (class_name, resource))
    if row is None:
        s.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=hard_limit))
    else:
        row.hard_limit = hard_limit


async def lock(s: AsyncSession, project_id: str) -> None:
    """Take the project's quota lock for the rest of the transaction.

    SQLite writers are already serialised (BEGIN IMMEDIATE); on MariaDB and PostgreSQL the
    row is locked FOR UPDATE, so a second create of the project waits here until the first
    has committed the instances it counted.
    """
    stmt = select(QuotaLock).where(QuotaLock.project_id == project_id).with_for_update()
    if (await s.execute(stmt)).scalars().first() is not None:
        return
    try:
        async with s.begin_nested():
            s.add(QuotaLock(project_id=project_id))
    except IntegrityError:
        pass            # another transaction made it first: lock theirs
    await s.execute(stmt)
