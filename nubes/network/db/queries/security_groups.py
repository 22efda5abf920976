"""Security group and rule rows: who may see them, list filters, default groups, the ports using them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import (
    DefaultSecurityGroup,
    Port,
    PortSecurityGroup,
    SecurityGroup,
    SecurityGroupRbac,
    SecurityGroupRule,
)
from nubes.network.db.queries.listing import Filter, col, custom

SHARED = "access_as_shared"


def shared_with(project_id: str | None, group_id: Any = SecurityGroup.id) -> ColumnElement:
    """A group shared (access_as_shared) with the project or with everyone."""
    targets = ["*"] + ([project_id] if project_id else [])
    return exists().where(SecurityGroupRbac.object_id == group_id, SecurityGroupRbac.action == SHARED,
                          SecurityGroupRbac.target_project.in_(targets))


def visible_to(project_id: str | None) -> ColumnElement:
    own = SecurityGroup.project_id == project_id if project_id else false()
    return or_(own, shared_with(project_id))


def _is_default(group_id: Any) -> ColumnElement:
    return exists().where(DefaultSecurityGroup.security_group_id == group_id)


def _bool(cond: ColumnElement) -> Any:
    def build(values: list[bool]) -> ColumnElement:
        if all(values):
            return cond
        if not any(values):
            return ~cond
        return true()
    return build


def group_filters(project_id: str | None) -> dict[str, Filter]:
    """The list filters of security groups; ``shared`` is relative to the caller's project."""
    shared = and_(SecurityGroup.project_id != (project_id or ""), shared_with(project_id))
    return {
        "id": col(SecurityGroup.id), "name": col(SecurityGroup.name),
        "description": col(SecurityGroup.description),
        "tenant_id": col(SecurityGroup.project_id), "project_id": col(SecurityGroup.project_id),
        "stateful": col(SecurityGroup.stateful, "bool"),
        "revision_number": col(SecurityGroup.revision_number, "int"),
        "created_at": col(SecurityGroup.created_at), "updated_at": col(SecurityGroup.updated_at),
        "shared": custom(_bool(shared), "bool"),
    }


RULE_FILTERS: dict[str, Filter] = {
    "id": col(SecurityGroupRule.id), "security_group_id": col(SecurityGroupRule.security_group_id),
    "remote_group_id": col(SecurityGroupRule.remote_group_id),
    "direction": col(SecurityGroupRule.direction), "ethertype": col(SecurityGroupRule.ethertype),
    "protocol": col(SecurityGroupRule.protocol),
    "port_range_min": col(SecurityGroupRule.port_range_min, "int"),
    "port_range_max": col(SecurityGroupRule.port_range_max, "int"),
    "remote_ip_prefix": col(SecurityGroupRule.remote_ip_prefix),
    "tenant_id": col(SecurityGroupRule.project_id), "project_id": col(SecurityGroupRule.project_id),
    "description": col(SecurityGroupRule.description),
    "revision_number": col(SecurityGroupRule.revision_number, "int"),
    "created_at": col(SecurityGroupRule.created_at), "updated_at": col(SecurityGroupRule.updated_at),
    "belongs_to_default_sg": custom(_bool(_is_default(SecurityGroupRule.security_group_id)), "bool"),
}


def rules_visible_to(project_id: str | None) -> ColumnElement:
    """Rules of the project's own groups (a rule's project is its group's)."""
    return SecurityGroupRule.project_id == project_id if project_id else false()


def group_select() -> Any:
    return select(SecurityGroup).options(selectinload(SecurityGroup.rbac_entries))


async def get_group(s: AsyncSession, group_id: str, *, for_update: bool = False) -> SecurityGroup | None:
    stmt = group_select().where(SecurityGroup.id == group_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def groups(s: AsyncSession, ids: Iterable[str]) -> dict[str, SecurityGroup]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    rows = (await s.execute(group_select().where(SecurityGroup.id.in_(ids)))).scalars().all()
    return {r.id: r for r in rows}


async def rules_of(s: AsyncSession, group_ids: Iterable[str]) -> dict[str, list[SecurityGroupRule]]:
    ids = list(dict.fromkeys(group_ids))
    out: dict[str, list[SecurityGroupRule]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = await s.execute(select(SecurityGroupRule)
                               .where(SecurityGroupRule.security_group_id.in_(ids[start:start + 500]))
                               .order_by(SecurityGroupRule.created_at, SecurityGroupRule.id))
        for rule in rows.scalars().all():
            out[rule.security_group_id].append(rule)
    return out


async def get_rule(s: AsyncSession, rule_id: str) -> SecurityGroupRule | None:
    return await s.get(SecurityGroupRule, rule_id)


async def default_group_id(s: AsyncSession, project_id: str) -> str | None:
    row = await s.get(DefaultSecurityGroup, project_id)
    return row.security_group_id if row is not None else None


async def default_ids(s: AsyncSession, group_ids: Iterable[str]) -> set[str]:
    ids = list(dict.fromkeys(group_ids))
    if not ids:
        return set()
    rows = await s.execute(select(DefaultSecurityGroup.security_group_id)
                           .where(DefaultSecurityGroup.security_group_id.in_(ids)))
    return {r for r, in rows.all()}


async def ports_using(s: AsyncSession, group_id: str, project_ids: Iterable[str] | None = None,
                      exclude_projects: Iterable[str] | None = None) -> list[str]:
    """Ports bound to the group, optionally only those of (or not of) some projects."""
    stmt = select(PortSecurityGroup.port_id).where(PortSecurityGroup.security_group_id == group_id)
    if project_ids is not None or exclude_projects is not None:
        stmt = stmt.join(Port, Port.id == PortSecurityGroup.port_id)
        if project_ids is not None:
            stmt = stmt.where(Port.project_id.in_(list(project_ids)))
        if exclude_projects is not None:
            stmt = stmt.where(Port.project_id.not_in(list(exclude_projects)))
    return [p for p, in (await s.execute(stmt.limit(20))).all()]


async def groups_referencing(s: AsyncSession, group_id: str) -> list[str]:
    """Other groups with a rule whose remote group is ``group_id``."""
    rows = await s.execute(select(SecurityGroupRule.security_group_id).distinct().where(
        SecurityGroupRule.remote_group_id == group_id, SecurityGroupRule.security_group_id != group_id))
    return [g for g, in rows.all()]


async def delete_group_rows(s: AsyncSession, group_id: str) -> None:
    """The group, its rules, rules elsewhere that name it as remote group, its RBAC entries."""
    await s.execute(delete(SecurityGroupRule).where(or_(SecurityGroupRule.security_group_id == group_id,
                                                        SecurityGroupRule.remote_group_id == group_id)))
    await s.execute(delete(SecurityGroupRbac).where(SecurityGroupRbac.object_id == group_id))
    await s.execute(delete(DefaultSecurityGroup).where(DefaultSecurityGroup.security_group_id == group_id))
    await s.execute(delete(SecurityGroup).where(SecurityGroup.id == group_id))
