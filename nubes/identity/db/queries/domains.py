"""Domain queries: lookups, listing, and removing everything a deleted domain owns."""

from __future__ import annotations

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import (
    Assignment,
    Domain,
    Group,
    ImpliedRole,
    Limit,
    Project,
    Role,
    User,
)
from nubes.identity.db.queries import groups as group_q
from nubes.identity.db.queries import projects as project_q
from nubes.identity.db.queries import users as user_q


async def by_name(s: AsyncSession, name: str) -> Domain | None:
    return (await s.execute(select(Domain).where(Domain.name == name))).scalars().first()


async def list_domains(s: AsyncSession, *, name: str | None = None,
                       enabled: bool | None = None) -> list[Domain]:
    q = select(Domain)
    if name is not None:
        q = q.where(Domain.name == name)
    if enabled is not None:
        q = q.where(Domain.enabled.is_(enabled))
    return list((await s.execute(q.order_by(Domain.name, Domain.id))).scalars())


async def delete_contents(s: AsyncSession, domain_id: str) -> None:
    """Projects, users, groups, grants on the domain and its domain-specific roles."""
    project_ids = list((await s.execute(
        select(Project.id).where(Project.domain_id == domain_id))).scalars())
    if project_ids:
        # Cut the hierarchy first so the parent_id foreign key never blocks the delete.
        await s.execute(update(Project).where(Project.domain_id == domain_id).values(parent_id=None))
        await project_q.delete_projects(s, project_ids)
    user_ids = list((await s.execute(select(User.id).where(User.domain_id == domain_id))).scalars())
    await user_q.delete_users(s, user_ids)
    group_ids = list((await s.execute(select(Group.id).where(Group.domain_id == domain_id))).scalars())
    await group_q.delete_groups(s, group_ids)
    await s.execute(delete(Assignment).where(Assignment.target_id == domain_id,
                                             Assignment.type.in_(("UserDomain", "GroupDomain"))))
    role_ids = list((await s.execute(select(Role.id).where(Role.domain_id == domain_id))).scalars())
    if role_ids:
        await s.execute(delete(Assignment).where(Assignment.role_id.in_(role_ids)))
        await s.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id.in_(role_ids),
                                                      ImpliedRole.implied_role_id.in_(role_ids))))
        await s.execute(delete(Role).where(Role.id.in_(role_ids)))
    await s.execute(delete(Limit).where(Limit.domain_id == domain_id))
