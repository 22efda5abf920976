"""Quota limits per project and the usage counts they are checked against."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import (
    FloatingIP,
    Network,
    NetworkRbac,
    Port,
    Quota,
    QuotaLock,
    Router,
    SecurityGroup,
    SecurityGroupRbac,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)

# resource -> the tables whose rows (by project_id) it counts
COUNTED: dict[str, tuple[Any, ...]] = {
    "network": (Network,), "subnet": (Subnet,), "port": (Port,), "router": (Router,),
    "floatingip": (FloatingIP,), "security_group": (SecurityGroup,),
    "security_group_rule": (SecurityGroupRule,), "subnetpool": (SubnetPool,),
    "rbac_policy": (NetworkRbac, SecurityGroupRbac),
}


async def limits(s: AsyncSession, project_id: str) -> dict[str, int]:
    rows = await s.execute(select(Quota.resource, Quota.limit).where(Quota.project_id == project_id))
    return dict(rows.all())


async def all_limits(s: AsyncSession, project_ids: list[str] | None = None) -> dict[str, dict[str, int]]:
    """Every project with a limit of its own: project -> {resource: limit}."""
    stmt = select(Quota.project_id, Quota.resource, Quota.limit).order_by(Quota.project_id)
    if project_ids is not None:
        stmt = stmt.where(Quota.project_id.in_(project_ids))
    out: dict[str, dict[str, int]] = {}
    for project_id, resource, limit in (await s.execute(stmt)).all():
        out.setdefault(project_id, {})[resource] = limit
    return out


async def projects_with_limits(s: AsyncSession) -> list[str]:
    return [p for p, in (await s.execute(select(Quota.project_id).distinct())).all()]


async def set_limit(s: AsyncSession, project_id: str, resource: str, limit: int) -> None:
    row = await s.get(Quota, (project_id, resource))
    if row is None:
        s.add(Quota(project_id=project_id, resource=resource, limit=limit))
    else:
        row.limit = limit


async def delete_limits(s: AsyncSession, project_id: str) -> int:
    """Drop the project's own limits; how many there were."""
    res = await s.execute(delete(Quota).where(Quota.project_id == project_id))
    return int(res.rowcount or 0)


async def usage(s: AsyncSession, project_id: str, resource: str) -> int:
    total = 0
    for model in COUNTED[resource]:
        total += int((await s.execute(select(func.count()).select_from(model)
                                      .where(model.project_id == project_id))).scalar_one())
    return total


async def lock(s: AsyncSession, project_id: str, resource: str) -> None:
    """Serialise creates of one resource in one project (FOR UPDATE on its lock row).

    SQLite writers are serialised already; the row is still made so the code path is one.
    """
    stmt = select(QuotaLock).where(QuotaLock.project_id == project_id, QuotaLock.resource == resource)
    if (await s.execute(stmt.with_for_update())).scalars().first() is None:
        s.add(QuotaLock(project_id=project_id, resource=resource))
        await s.flush()   # a concurrent first insert fails here and the transaction is retried
        await s.execute(stmt.with_for_update())
