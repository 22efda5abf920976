"""Subnet pool rows: visibility, list filters, the default pool of an IP version, allocated prefixes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import Subnet, SubnetPool, SubnetPoolPrefix
from nubes.network.db.queries.listing import Filter, col


def visible_to(project_id: str | None) -> ColumnElement:
    return or_(SubnetPool.project_id == project_id if project_id else false(), SubnetPool.shared.is_(True))


FILTERS: dict[str, Filter] = {
    "id": col(SubnetPool.id), "name": col(SubnetPool.name), "description": col(SubnetPool.description),
    "tenant_id": col(SubnetPool.project_id), "project_id": col(SubnetPool.project_id),
    "ip_version": col(SubnetPool.ip_version, "int"),
    "default_prefixlen": col(SubnetPool.default_prefixlen, "int"),
    "min_prefixlen": col(SubnetPool.min_prefixlen, "int"),
    "max_prefixlen": col(SubnetPool.max_prefixlen, "int"),
    "shared": col(SubnetPool.shared, "bool"), "is_default": col(SubnetPool.is_default, "bool"),
    "default_quota": col(SubnetPool.default_quota, "int"),
    "address_scope_id": col(SubnetPool.address_scope_id),
    "revision_number": col(SubnetPool.revision_number, "int"),
    "created_at": col(SubnetPool.created_at), "updated_at": col(SubnetPool.updated_at),
}


def base_select() -> Any:
    return select(SubnetPool).options(selectinload(SubnetPool.prefixes))


async def get(s: AsyncSession, pool_id: str, *, for_update: bool = False) -> SubnetPool | None:
    stmt = base_select().where(SubnetPool.id == pool_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def default_pool(s: AsyncSession, ip_version: int, *, exclude: str | None = None) -> SubnetPool | None:
    stmt = base_select().where(SubnetPool.is_default.is_(True), SubnetPool.ip_version == ip_version)
    if exclude:
        stmt = stmt.where(SubnetPool.id != exclude)
    return (await s.execute(stmt.limit(1))).scalars().first()


async def allocated(s: AsyncSession, pool_id: str, project_id: str | None = None) -> list[str]:
    """CIDRs of the subnets taken from the pool (by one project when given)."""
    stmt = select(Subnet.cidr).where(Subnet.subnetpool_id == pool_id)
    if project_id is not None:
        stmt = stmt.where(Subnet.project_id == project_id)
    return [c for c, in (await s.execute(stmt)).all()]


async def in_use(s: AsyncSession, pool_id: str) -> bool:
    stmt = select(Subnet.id).where(Subnet.subnetpool_id == pool_id).limit(1)
    return (await s.execute(stmt)).first() is not None


async def set_prefixes(s: AsyncSession, row: SubnetPool, cidrs: list[str]) -> None:
    """Replace the pool's prefixes (old rows removed first: a prefix may be kept)."""
    row.prefixes = []
    await s.flush()
    row.prefixes = [SubnetPoolPrefix(cidr=c) for c in cidrs]
