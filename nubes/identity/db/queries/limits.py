"""Unified limit queries: registered (default) limits and project or domain limits.

An absent region is stored as the empty string so that the unique constraints hold on
every backend; the API shows it as null.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Limit, RegisteredLimit


async def get_registered(s: AsyncSession, registered_limit_id: str) -> RegisteredLimit | None:
    return await s.get(RegisteredLimit, registered_limit_id)


async def find_registered(s: AsyncSession, service_id: str, region_id: str,
                          resource_name: str) -> RegisteredLimit | None:
    q = select(RegisteredLimit).where(RegisteredLimit.service_id == service_id,
                                      RegisteredLimit.region_id == region_id,
                                      RegisteredLimit.resource_name == resource_name)
    return (await s.execute(q)).scalars().first()


async def list_registered(s: AsyncSession, *, service_id: str | None = None,
                          region_id: str | None = None,
                          resource_name: str | None = None) -> list[RegisteredLimit]:
    q = select(RegisteredLimit)
    if service_id is not None:
        q = q.where(RegisteredLimit.service_id == service_id)
    if region_id is not None:
        q = q.where(RegisteredLimit.region_id == region_id)
    if resource_name is not None:
        q = q.where(RegisteredLimit.resource_name == resource_name)
    q = q.order_by(RegisteredLimit.service_id, RegisteredLimit.region_id,
                   RegisteredLimit.resource_name)
    return list((await s.execute(q)).scalars())


async def get_limit(s: AsyncSession, limit_id: str) -> Limit | None:
    return await s.get(Limit, limit_id)


async def find_limit(s: AsyncSession, *, project_id: str, domain_id: str, service_id: str,
                     region_id: str, resource_name: str) -> Limit | None:
    q = select(Limit).where(Limit.project_id == project_id, Limit.domain_id == domain_id,
                            Limit.service_id == service_id, Limit.region_id == region_id,
                            Limit.resource_name == resource_name)
    return (await s.execute(q)).scalars().first()


async def list_limits(s: AsyncSession, *, service_id: str | None = None,
                      region_id: str | None = None, resource_name: str | None = None,
                      project_id: str | None = None, domain_id: str | None = None) -> list[Limit]:
    q = select(Limit)
    if service_id is not None:
        q = q.where(Limit.service_id == service_id)
    if region_id is not None:
        q = q.where(Limit.region_id == region_id)
    if resource_name is not None:
        q = q.where(Limit.resource_name == resource_name)
    if project_id is not None:
        q = q.where(Limit.project_id == project_id)
    if domain_id is not None:
        q = q.where(Limit.domain_id == domain_id)
    q = q.order_by(Limit.service_id, Limit.region_id, Limit.resource_name, Limit.project_id,
                   Limit.domain_id)
    return list((await s.execute(q)).scalars())


async def count_referencing(s: AsyncSession, reg: RegisteredLimit) -> int:
    """Project or domain limits that override this registered limit."""
    q = select(func.count()).select_from(Limit).where(
        Limit.service_id == reg.service_id, Limit.region_id == reg.region_id,
        Limit.resource_name == reg.resource_name)
    return int((await s.execute(q)).scalar() or 0)
