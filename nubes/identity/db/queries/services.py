"""Catalog service queries (the `services` table: compute, image, ...)."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Endpoint, Limit, RegisteredLimit, Service


async def get(s: AsyncSession, service_id: str) -> Service | None:
    return await s.get(Service, service_id)


async def list_services(s: AsyncSession, *, type: str | None = None,  # noqa: A002
                        name: str | None = None) -> list[Service]:
    q = select(Service)
    if type is not None:
        q = q.where(Service.type == type)
    if name is not None:
        q = q.where(Service.name == name)
    return list((await s.execute(q.order_by(Service.type, Service.name, Service.id))).scalars())


async def limit_count(s: AsyncSession, service_id: str) -> int:
    n = (await s.execute(select(func.count()).select_from(RegisteredLimit)
                         .where(RegisteredLimit.service_id == service_id))).scalar() or 0
    n += (await s.execute(select(func.count()).select_from(Limit)
                          .where(Limit.service_id == service_id))).scalar() or 0
    return int(n)


async def delete_service(s: AsyncSession, service_id: str) -> None:
    """The service and its endpoints, as Keystone does."""
    await s.execute(delete(Endpoint).where(Endpoint.service_id == service_id))
    await s.execute(delete(Service).where(Service.id == service_id))
