"""Group queries: lookups, listing, membership and deletion with the group's grants."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Assignment, Group, UserGroupMembership

GROUP_GRANTS = ("GroupProject", "GroupDomain", "GroupSystem")


async def by_name(s: AsyncSession, name: str, domain_id: str) -> Group | None:
    q = select(Group).where(Group.name == name, Group.domain_id == domain_id)
    return (await s.execute(q)).scalars().first()


async def list_groups(s: AsyncSession, *, domain_id: str | None = None, name: str | None = None,
                      member_id: str | None = None) -> list[Group]:
    q = select(Group)
    if domain_id is not None:
        q = q.where(Group.domain_id == domain_id)
    if name is not None:
        q = q.where(Group.name == name)
    if member_id is not None:
        q = q.where(Group.id.in_(select(UserGroupMembership.group_id)
                                 .where(UserGroupMembership.user_id == member_id)))
    return list((await s.execute(q.order_by(Group.name, Group.id))).scalars())


async def member_ids(s: AsyncSession, group_id: str) -> list[str]:
    q = select(UserGroupMembership.user_id).where(UserGroupMembership.group_id == group_id)
    return list((await s.execute(q)).scalars())


async def is_member(s: AsyncSession, group_id: str, user_id: str) -> bool:
    return await s.get(UserGroupMembership, (user_id, group_id)) is not None


async def add_member(s: AsyncSession, group_id: str, user_id: str) -> bool:
    """Add the membership; False when it already existed."""
    if await is_member(s, group_id, user_id):
        return False
    s.add(UserGroupMembership(user_id=user_id, group_id=group_id))
    await s.flush()
    return True


async def remove_member(s: AsyncSession, group_id: str, user_id: str) -> bool:
    res = await s.execute(delete(UserGroupMembership).where(
        UserGroupMembership.group_id == group_id, UserGroupMembership.user_id == user_id))
    return bool(res.rowcount)


async def has_grants(s: AsyncSession, group_ids: list[str]) -> bool:
    if not group_ids:
        return False
    q = select(Assignment.role_id).where(Assignment.actor_id.in_(group_ids),
                                         Assignment.type.in_(GROUP_GRANTS)).limit(1)
    return (await s.execute(q)).first() is not None


async def delete_groups(s: AsyncSession, group_ids: list[str]) -> None:
    if not group_ids:
        return
    await s.execute(delete(Assignment).where(Assignment.actor_id.in_(group_ids),
                                             Assignment.type.in_(GROUP_GRANTS)))
    await s.execute(delete(UserGroupMembership).where(UserGroupMembership.group_id.in_(group_ids)))
    await s.execute(delete(Group).where(Group.id.in_(group_ids)))
