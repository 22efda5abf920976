"""Catalog queries: services with their enabled endpoints, as tokens and /v3/auth/catalog show them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Endpoint, Service


async def token_catalog(s: AsyncSession) -> list[dict[str, Any]]:
    services = (await s.execute(select(Service).where(Service.enabled.is_(True)))).scalars().all()
    endpoints = (await s.execute(select(Endpoint).where(Endpoint.enabled.is_(True)))).scalars().all()
    by_service: dict[str, list[dict[str, Any]]] = {}
    for ep in endpoints:
        by_service.setdefault(ep.service_id, []).append({
            "id": ep.id, "interface": ep.interface, "region_id": ep.region_id,
            "url": ep.url, "region": ep.region_id,
        })
    return [{"id": svc.id, "type": svc.type, "name": svc.name,
             "endpoints": by_service.get(svc.id, [])} for svc in services]
