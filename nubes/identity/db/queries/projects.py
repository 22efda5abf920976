"""Project queries: lookups, filtered listing with tags, the hierarchy, and deletion with its grants."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import (
    ApplicationCredential,
    Assignment,
    Credential,
    Limit,
    Project,
    ProjectTag,
    User,
    UserGroupMembership,
)


async def by_name(s: AsyncSession, name: str, domain_id: str) -> Project | None:
    q = select(Project).where(Project.name == name, Project.domain_id == domain_id)
    return (await s.execute(q)).scalars().first()


async def tags_of(s: AsyncSession, project_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(project_ids)
    out: dict[str, list[str]] = {pid: [] for pid in ids}
    if not ids:
        return out
    rows = await s.execute(select(ProjectTag.project_id, ProjectTag.name)
                           .where(ProjectTag.project_id.in_(ids)).order_by(ProjectTag.name))
    for pid, name in rows.all():
        out[pid].append(name)
    return out


async def set_tags(s: AsyncSession, project_id: str, tags: list[str]) -> None:
    await s.execute(delete(ProjectTag).where(ProjectTag.project_id == project_id))
    for name in dict.fromkeys(tags):
        s.add(ProjectTag(project_id=project_id, name=name))
    await s.flush()


def _with_all_tags(tags: list[str]):
    """Ids of projects carrying every tag of ``tags``."""
    return (select(ProjectTag.project_id).where(ProjectTag.name.in_(tags))
            .group_by(ProjectTag.project_id)
            .having(func.count(func.distinct(ProjectTag.name)) == len(set(tags))))


def _with_any_tag(tags: list[str]):
    return select(ProjectTag.project_id).where(ProjectTag.name.in_(tags))


async def list_projects(s: AsyncSession, *, domain_id: str | None = None, name: str | None = None,
                        enabled: bool | None = None, parent_id: str | None = None,
                        top_level_of: str | None = None, ids: Iterable[str] | None = None,
                        tags: list[str] | None = None, tags_any: list[str] | None = None,
                        not_tags: list[str] | None = None,
                        not_tags_any: list[str] | None = None) -> list[Project]:
    """Projects matching every filter given; ``top_level_of`` selects a domain's root projects."""
    q = select(Project)
    if domain_id is not None:
        q = q.where(Project.domain_id == domain_id)
    if name is not None:
        q = q.where(Project.name == name)
    if enabled is not None:
        q = q.where(Project.enabled.is_(enabled))
    if parent_id is not None:
        q = q.where(Project.parent_id == parent_id)
    if top_level_of is not None:
        q = q.where(Project.domain_id == top_level_of, Project.parent_id.is_(None))
    if ids is not None:
        q = q.where(Project.id.in_(list(ids)))
    if tags:
        q = q.where(Project.id.in_(_with_all_tags(tags)))
    if tags_any:
        q = q.where(Project.id.in_(_with_any_tag(tags_any)))
    if not_tags:
        q = q.where(Project.id.not_in(_with_all_tags(not_tags)))
    if not_tags_any:
        q = q.where(Project.id.not_in(_with_any_tag(not_tags_any)))
    return list((await s.execute(q.order_by(Project.name, Project.id))).scalars())


async def children(s: AsyncSession, project_id: str) -> list[Project]:
    q = select(Project).where(Project.parent_id == project_id).order_by(Project.name)
    return list((await s.execute(q)).scalars())


async def has_children(s: AsyncSession, project_id: str) -> bool:
    q = select(Project.id).where(Project.parent_id == project_id).limit(1)
    return (await s.execute(q)).first() is not None


async def subtree(s: AsyncSession, project_id: str) -> list[Project]:
    """Every project below ``project_id``, breadth first."""
    out: list[Project] = []
    seen = {project_id}
    frontier = [project_id]
    while frontier:
        rows = (await s.execute(select(Project).where(Project.parent_id.in_(frontier))
                                .order_by(Project.name))).scalars().all()
        frontier = []
        for p in rows:
            if p.id not in seen:
                seen.add(p.id)
                out.append(p)
                frontier.append(p.id)
    return out


async def ancestors(s: AsyncSession, project: Project) -> list[Project]:
    """Parents from the nearest up to the top-level project (the domain is not included)."""
    out: list[Project] = []
    seen = {project.id}
    parent_id = project.parent_id
    while parent_id and parent_id not in seen:
        seen.add(parent_id)
        parent = await s.get(Project, parent_id)
        if parent is None:
            break
        out.append(parent)
        parent_id = parent.parent_id
    return out


async def project_ids_for_user(s: AsyncSession, user_id: str) -> set[str]:
    """Projects the user holds any role on: direct, through groups, or inherited from above."""
    actors = [user_id, *(await s.execute(select(UserGroupMembership.group_id).where(
        UserGroupMembership.user_id == user_id))).scalars()]
    rows = (await s.execute(select(Assignment.type, Assignment.target_id, Assignment.inherited)
                            .where(Assignment.actor_id.in_(actors)))).all()
    direct: set[str] = set()
    inherited_projects: set[str] = set()
    inherited_domains: set[str] = set()
    for kind, target, inherited in rows:
        if kind.endswith("Project"):
            (inherited_projects if inherited else direct).add(target)
        elif kind.endswith("Domain") and inherited:
            inherited_domains.add(target)
    out = set(direct)
    if inherited_domains:
        out.update((await s.execute(select(Project.id).where(
            Project.domain_id.in_(inherited_domains)))).scalars())
    frontier, seen = set(inherited_projects), set(inherited_projects)
    while frontier:  # an inherited grant applies to the subtree, not to the project itself
        below = set((await s.execute(select(Project.id).where(
            Project.parent_id.in_(frontier)))).scalars()) - seen
        seen |= below
        out |= below
        frontier = below
    if out:  # grants may outlive a project on some paths; keep only real ones
        out = set((await s.execute(select(Project.id).where(Project.id.in_(out)))).scalars())
    return out


async def delete_projects(s: AsyncSession, project_ids: list[str]) -> None:
    """Delete projects (children first is the caller's business) with what hangs off them."""
    if not project_ids:
        return
    await s.execute(delete(Assignment).where(Assignment.target_id.in_(project_ids),
                                             Assignment.type.in_(("UserProject", "GroupProject"))))
    await s.execute(delete(ProjectTag).where(ProjectTag.project_id.in_(project_ids)))
    await s.execute(delete(Limit).where(Limit.project_id.in_(project_ids)))
    await s.execute(delete(Credential).where(Credential.project_id.in_(project_ids)))
    await s.execute(delete(ApplicationCredential).where(ApplicationCredential.project_id.in_(project_ids)))
    await s.execute(update(User).where(User.default_project_id.in_(project_ids))
                    .values(default_project_id=None))
    await s.execute(delete(Project).where(Project.id.in_(project_ids)))
