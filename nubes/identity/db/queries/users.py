"""User queries: lookups by id or name, passwords and lockout counters."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import (
    ApplicationCredential,
    Assignment,
    Credential,
    Domain,
    Password,
    User,
    UserGroupMembership,
)


async def current_password(s: AsyncSession, user_id: str) -> Password | None:
    q = (select(Password).where(Password.user_id == user_id)
         .order_by(Password.created_at.desc(), Password.id.desc()).limit(1))
    return (await s.execute(q)).scalars().first()


async def recent_passwords(s: AsyncSession, user_id: str, count: int) -> list[Password]:
    q = (select(Password).where(Password.user_id == user_id)
         .order_by(Password.created_at.desc(), Password.id.desc()).limit(count))
    return list((await s.execute(q)).scalars())


async def user_by_name(s: AsyncSession, name: str, domain_id: str) -> User | None:
    q = select(User).where(User.name == name, User.domain_id == domain_id)
    return (await s.execute(q)).scalars().first()


async def domain_by_name(s: AsyncSession, name: str) -> Domain | None:
    return (await s.execute(select(Domain).where(Domain.name == name))).scalars().first()


# -- used by the users, groups and domains APIs --------------------------------------------


async def list_users(s: AsyncSession, *, domain_id: str | None = None, name: str | None = None,
                     enabled: bool | None = None, group_id: str | None = None) -> list[User]:
    q = select(User)
    if domain_id is not None:
        q = q.where(User.domain_id == domain_id)
    if name is not None:
        q = q.where(User.name == name)
    if enabled is not None:
        q = q.where(User.enabled.is_(enabled))
    if group_id is not None:
        q = q.where(User.id.in_(select(UserGroupMembership.user_id)
                                .where(UserGroupMembership.group_id == group_id)))
    return list((await s.execute(q.order_by(User.name, User.id))).scalars())


async def current_passwords(s: AsyncSession, user_ids: list[str]) -> dict[str, Password]:
    """The newest password row of each user that has one."""
    if not user_ids:
        return {}
    out: dict[str, Password] = {}
    q = (select(Password).where(Password.user_id.in_(user_ids))
         .order_by(Password.created_at, Password.id))
    for pw in (await s.execute(q)).scalars():
        out[pw.user_id] = pw  # ascending order: the last one seen is the current one
    return out


async def delete_users(s: AsyncSession, user_ids: list[str]) -> None:
    """Delete users with their passwords, memberships, grants and credentials."""
    if not user_ids:
        return
    await s.execute(delete(Assignment).where(Assignment.actor_id.in_(user_ids),
                                             Assignment.type.in_(("UserProject", "UserDomain",
                                                                  "UserSystem"))))
    await s.execute(delete(UserGroupMembership).where(UserGroupMembership.user_id.in_(user_ids)))
    await s.execute(delete(ApplicationCredential).where(ApplicationCredential.user_id.in_(user_ids)))
    await s.execute(delete(Credential).where(Credential.user_id.in_(user_ids)))
    await s.execute(delete(Password).where(Password.user_id.in_(user_ids)))
    await s.execute(delete(User).where(User.id.in_(user_ids)))
