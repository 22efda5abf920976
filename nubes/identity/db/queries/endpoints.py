"""Endpoint queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Endpoint


async def get(s: AsyncSession, endpoint_id: str) -> Endpoint | None:
    return await s.get(Endpoint, endpoint_id)


async def list_endpoints(s: AsyncSession, *, interface: str | None = None,
                         service_id: str | None = None,
                         region_id: str | None = None) -> list[Endpoint]:
    q = select(Endpoint)
    if interface is not None:
        q = q.where(Endpoint.interface == interface)
    if service_id is not None:
        q = q.where(Endpoint.service_id == service_id)
    if region_id is not None:
        q = q.where(Endpoint.region_id == region_id)
    return list((await s.execute(q.order_by(Endpoint.service_id, Endpoint.interface,
                                            Endpoint.id))).scalars())
