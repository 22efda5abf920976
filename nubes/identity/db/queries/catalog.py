"""Catalog queries: services with their enabled endpoints, as tokens and /v3/auth/catalog show them."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.identity.db.models import Endpoint, Service


_SUBST = re.compile(r"[%$]\((\w+)\)s")


def substituted(catalog: list[dict[str, Any]], values: dict[str, str]) -> list[dict[str, Any]]:
    """The catalog with ``%(project_id)s`` / ``$(project_id)s`` (and ``tenant_id``, ``user_id``)
    in endpoint URLs replaced by the token's values, as Keystone formats them; an endpoint whose
    URL names a value the token has not (a project URL in a system- or domain-scoped token) is
    left out, as Keystone leaves it out."""
    out = []
    for svc in catalog:
        endpoints = []
        for ep in svc["endpoints"]:
            url = ep["url"]
            if "(" in url:
                names = _SUBST.findall(url)
                if any(not values.get(n) for n in names):
                    continue
                url = _SUBST.sub(lambda m: values[m.group(1)], url)
                ep = {**ep, "url": url}
            endpoints.append(ep)
        out.append({**svc, "endpoints": endpoints})
    return out


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
