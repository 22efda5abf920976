"""Server group rows and their members."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import Instance, ServerGroup, ServerGroupMember


def _loaded():
    return select(ServerGroup).options(selectinload(ServerGroup.members))


async def get(s: AsyncSession, group_id: str) -> ServerGroup | None:
    return (await s.execute(_loaded().where(ServerGroup.id == group_id))).scalars().first()


async def list_groups(s: AsyncSession, project_id: str | None, *, limit: int | None,
                      offset: int) -> list[ServerGroup]:
    stmt = _loaded()
    if project_id is not None:
        stmt = stmt.where(ServerGroup.project_id == project_id)
    stmt = stmt.order_by(ServerGroup.created_at, ServerGroup.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())


async def count(s: AsyncSession, project_id: str, user_id: str | None = None) -> int:
    stmt = select(func.count()).select_from(ServerGroup).where(ServerGroup.project_id == project_id)
    if user_id is not None:
        stmt = stmt.where(ServerGroup.user_id == user_id)
    return int((await s.execute(stmt)).scalar_one())


async def live_members(s: AsyncSession, group_id: str) -> list[Instance]:
    """The group's instances that are not deleted (with their hosts, for the scheduler)."""
    stmt = select(Instance).join(ServerGroupMember, ServerGroupMember.instance_id == Instance.id).where(
        ServerGroupMember.group_id == group_id, Instance.deleted.is_(False))
    return list((await s.execute(stmt)).scalars().all())


async def groups_of(s: AsyncSession, instance_ids: Sequence[str]) -> dict[str, str]:
    """instance id -> its group id."""
    if not instance_ids:
        return {}
    rows = (await s.execute(select(ServerGroupMember).where(
        ServerGroupMember.instance_id.in_(list(instance_ids))))).scalars().all()
    return {r.instance_id: r.group_id for r in rows}


async def remove_member(s: AsyncSession, instance_id: str) -> None:
    row = (await s.execute(select(ServerGroupMember).where(
        ServerGroupMember.instance_id == instance_id))).scalars().first()
    if row is not None:
        await s.delete(row)
