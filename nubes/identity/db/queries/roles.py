"""Role queries: lookups, listing, inference rules (implied roles) and deletion with what hangs off a role."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Assignment, ImpliedRole, Role


async def by_name(s: AsyncSession, name: str, domain_id: str) -> Role | None:
    """The role called ``name`` in ``domain_id`` (NULL_DOMAIN for the global roles)."""
    q = select(Role).where(Role.name == name, Role.domain_id == domain_id)
    return (await s.execute(q)).scalars().first()


async def list_roles(s: AsyncSession, *, domain_id: str, name: str | None = None) -> list[Role]:
    q = select(Role).where(Role.domain_id == domain_id)
    if name is not None:
        q = q.where(Role.name == name)
    return list((await s.execute(q.order_by(Role.name, Role.id))).scalars())


async def by_ids(s: AsyncSession, role_ids: Iterable[str]) -> dict[str, Role]:
    ids = list(set(role_ids))
    if not ids:
        return {}
    rows = (await s.execute(select(Role).where(Role.id.in_(ids)))).scalars()
    return {r.id: r for r in rows}


async def delete_role(s: AsyncSession, role_id: str) -> None:
    """The role, every assignment of it and every inference rule naming it."""
    await s.execute(delete(Assignment).where(Assignment.role_id == role_id))
    await s.execute(delete(ImpliedRole).where(or_(ImpliedRole.prior_role_id == role_id,
                                                  ImpliedRole.implied_role_id == role_id)))
    await s.execute(delete(Role).where(Role.id == role_id))


# -- inference rules ----------------------------------------------------------------------------


async def get_rule(s: AsyncSession, prior_role_id: str, implied_role_id: str) -> ImpliedRole | None:
    return await s.get(ImpliedRole, (prior_role_id, implied_role_id))


async def add_rule(s: AsyncSession, prior_role_id: str, implied_role_id: str) -> None:
    s.add(ImpliedRole(prior_role_id=prior_role_id, implied_role_id=implied_role_id))
    await s.flush()


async def delete_rule(s: AsyncSession, prior_role_id: str, implied_role_id: str) -> bool:
    res = await s.execute(delete(ImpliedRole).where(ImpliedRole.prior_role_id == prior_role_id,
                                                    ImpliedRole.implied_role_id == implied_role_id))
    return bool(res.rowcount)


async def rules(s: AsyncSession, prior_role_id: str | None = None) -> list[tuple[str, str]]:
    """(prior, implied) pairs, of one prior role or of all."""
    q = select(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id)
    if prior_role_id is not None:
        q = q.where(ImpliedRole.prior_role_id == prior_role_id)
    rows = await s.execute(q.order_by(ImpliedRole.prior_role_id, ImpliedRole.implied_role_id))
    return [(prior, implied) for prior, implied in rows.all()]


async def implication_graph(s: AsyncSession) -> dict[str, list[str]]:
    """prior role id -> the role ids it implies directly."""
    graph: dict[str, list[str]] = {}
    for prior, implied in await rules(s):
        graph.setdefault(prior, []).append(implied)
    return graph
