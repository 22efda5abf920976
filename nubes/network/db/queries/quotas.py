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
    QuotaLock,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    SubnetPool,
)
from nubes.network.db.models import Quota

COUNTED: dict[str, Any] = {
    "network": Network, "subnet": Subnet, "port": Port, "router": Router, "floatingip": FloatingIP,
    "security_group": SecurityGroup, "security_group_rule": SecurityGroupRule, "subnetpool": SubnetPool,
    "rbac_policy": NetworkRbac,
}


async def limits(s: AsyncSession, project_id: str) -> dict[str, int]:
    rows = await s.execute(select(Quota.resource, Quota.limit).where(Quota.project_id == project_id))
    return dict(rows.all())


async def projects_with_limits(s: AsyncSession) -> list[str]:
    return [p for p, in (await s.execute(select(Quota.project_id).distinct())).all()]


async def set_limit(s: AsyncSession, project_id: str, resource: str, limit: int) -> None:
    row = await s.get(Quota, (project_id, resource))
    if row is None:
        s.add(Quota(project_id=project_id, resource=resource, limit=limit))
    else:
        row.limit = limit


async def delete_limits(s: AsyncSession, project_id: str) -> None:
    await s.execute(delete(Quota).where(Quota.project_id == project_id))


async def usage(s: AsyncSession, project_id: str, resource: str) -> int:
    model = COUNTED[resource]
    return int((await s.execute(select(func.count()).select_from(model)
                                .where(model.project_id == project_id))).scalar_one())


async def lock(s: AsyncSession, project_id: str, resource: str) -> None:
    """Serialise creates of one resource in one project (FOR UPDATE on its lock row).

    SQLite writers are serialised already; the row is still made so the code path is one.
    """
    stmt = select(QuotaLock).where(QuotaLock.project_id == project_id, QuotaLock.resource == resource)
    if (await s.execute(stmt.with_for_update())).scalars().first() is None:
        s.add(QuotaLock(project_id=project_id, resource=resource))
        await s.flush()   # a concurrent first insert fails here and the transaction is retried
        await s.execute(stmt.with_for_update())
