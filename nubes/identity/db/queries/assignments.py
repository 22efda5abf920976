"""Role assignment queries, including the effective roles a token carries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import (
    NULL_DOMAIN,
    SYSTEM_TARGET,
    Assignment,
    ImpliedRole,
    Project,
    Role,
    UserGroupMembership,
)


async def group_ids_of_user(s: AsyncSession, user_id: str) -> list[str]:
    rows = await s.execute(select(UserGroupMembership.group_id).where(
        UserGroupMembership.user_id == user_id))
    return list(rows.scalars())


async def project_ancestors(s: AsyncSession, project: Project) -> list[Project]:
    """Parents from the nearest up to the top-level project."""
    out: list[Project] = []
    parent_id = project.parent_id
    seen = {project.id}
    while parent_id and parent_id not in seen:
        seen.add(parent_id)
        parent = await s.get(Project, parent_id)
        if parent is None:
            break
        out.append(parent)
        parent_id = parent.parent_id
    return out


async def expand_implied(s: AsyncSession, role_ids: set[str]) -> set[str]:
    if not role_ids:
        return role_ids
    rules = (await s.execute(select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id))).all()
    if not rules:
        return role_ids
    implies: dict[str, list[str]] = {}
    for prior, implied in rules:
        implies.setdefault(prior, []).append(implied)
    out, todo = set(role_ids), list(role_ids)
    while todo:
        for implied in implies.get(todo.pop(), ()):
            if implied not in out:
                out.add(implied)
                todo.append(implied)
    return out


async def direct_role_ids(s: AsyncSession, actor_ids: list[str], target_ids: list[str],
                          *, inherited: bool | None = None) -> set[str]:
    if not actor_ids or not target_ids:
        return set()
    q = select(Assignment.role_id).where(Assignment.actor_id.in_(actor_ids),
                                         Assignment.target_id.in_(target_ids))
    if inherited is not None:
        q = q.where(Assignment.inherited == inherited)
    return set((await s.execute(q)).scalars())


async def effective_roles(s: AsyncSession, user_id: str, *, project: Project | None = None,
                          domain_id: str | None = None, system: bool = False) -> list[Role]:
    """Roles a user holds on a scope: direct, through groups, inherited, then implied.

    Domain-specific roles only ever contribute the global roles they imply, as in Keystone.
    """
    actors = [user_id, *await group_ids_of_user(s, user_id)]
    if project is not None:
        role_ids = await direct_role_ids(s, actors, [project.id], inherited=False)
        ancestors = [p.id for p in await project_ancestors(s, project)]
        role_ids |= await direct_role_ids(s, actors, [*ancestors, project.domain_id], inherited=True)
    elif domain_id is not None:
        role_ids = await direct_role_ids(s, actors, [domain_id], inherited=False)
    elif system:
        role_ids = await direct_role_ids(s, actors, [SYSTEM_TARGET])
    else:
        return []
    role_ids = await expand_implied(s, role_ids)
    if not role_ids:
        return []
    roles = (await s.execute(select(Role).where(Role.id.in_(role_ids)))).scalars()
    return sorted((r for r in roles if r.domain_id == NULL_DOMAIN), key=lambda r: r.name)


# -- grants: one row of the assignments table -------------------------------------------------------


async def get_grant(s: AsyncSession, kind: str, actor_id: str, target_id: str, role_id: str,
                    inherited: bool) -> Assignment | None:
    return await s.get(Assignment, (kind, actor_id, target_id, role_id, inherited))


async def add_grant(s: AsyncSession, kind: str, actor_id: str, target_id: str, role_id: str,
                    inherited: bool) -> bool:
    """Insert the grant; False when it already existed (granting is idempotent)."""
    if await get_grant(s, kind, actor_id, target_id, role_id, inherited) is not None:
        return False
    s.add(Assignment(type=kind, actor_id=actor_id, target_id=target_id, role_id=role_id,
                     inherited=inherited))
    await s.flush()
    return True


async def delete_grant(s: AsyncSession, kind: str, actor_id: str, target_id: str, role_id: str,
                       inherited: bool) -> bool:
    from sqlalchemy import delete

    res = await s.execute(delete(Assignment).where(
        Assignment.type == kind, Assignment.actor_id == actor_id, Assignment.target_id == target_id,
        Assignment.role_id == role_id, Assignment.inherited == inherited))
    return bool(res.rowcount)


async def grant_role_ids(s: AsyncSession, kind: str, actor_id: str, target_id: str,
                         inherited: bool) -> list[str]:
    q = select(Assignment.role_id).where(Assignment.type == kind, Assignment.actor_id == actor_id,
                                         Assignment.target_id == target_id,
                                         Assignment.inherited == inherited)
    return list((await s.execute(q)).scalars())


async def list_assignments(s: AsyncSession, *, kinds: list[str] | None = None,
                           actor_ids: list[str] | None = None, target_ids: list[str] | None = None,
                           role_id: str | None = None, inherited: bool | None = None) -> list[Assignment]:
    """Rows matching every filter given (None: no filter; an empty list matches nothing)."""
    q = select(Assignment)
    if kinds is not None:
        q = q.where(Assignment.type.in_(kinds))
    if actor_ids is not None:
        q = q.where(Assignment.actor_id.in_(actor_ids))
    if target_ids is not None:
        q = q.where(Assignment.target_id.in_(target_ids))
    if role_id is not None:
        q = q.where(Assignment.role_id == role_id)
    if inherited is not None:
        q = q.where(Assignment.inherited == inherited)
    q = q.order_by(Assignment.type, Assignment.target_id, Assignment.actor_id, Assignment.role_id)
    return list((await s.execute(q)).scalars())


# -- what /v3/role_assignments needs to expand and name assignments -------------------------------


async def members_of_groups(s: AsyncSession, group_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {g: [] for g in group_ids}
    if not group_ids:
        return out
    rows = await s.execute(select(UserGroupMembership.group_id, UserGroupMembership.user_id)
                           .where(UserGroupMembership.group_id.in_(group_ids))
                           .order_by(UserGroupMembership.user_id))
    for group_id, user_id in rows.all():
        out[group_id].append(user_id)
    return out


async def project_tree(s: AsyncSession,
                       domain_ids: list[str] | None = None) -> list[tuple[str, str | None, str]]:
    """(id, parent_id, domain_id) of every project, or of the projects of some domains."""
    q = select(Project.id, Project.parent_id, Project.domain_id)
    if domain_ids is not None:
        q = q.where(Project.domain_id.in_(domain_ids))
    rows = await s.execute(q.order_by(Project.name, Project.id))
    return [(pid, parent, domain) for pid, parent, domain in rows.all()]


async def rows_by_ids(s: AsyncSession, model: type, ids: set[str] | list[str]) -> dict[str, object]:
    """Rows of ``model`` (a table with an ``id`` primary key) by id; missing ids are absent."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = (await s.execute(select(model).where(model.id.in_(wanted)))).scalars()
    return {row.id: row for row in rows}
