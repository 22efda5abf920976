"""Host aggregate rows: lookups, membership and metadata, the availability zones they define."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import Aggregate, AggregateHost, AggregateMetadata

AZ_KEY = "availability_zone"


def _loaded() -> Any:
    return select(Aggregate).options(selectinload(Aggregate.hosts), selectinload(Aggregate.metadata_items))


async def get(s: AsyncSession, aggregate_id: int) -> Aggregate | None:
    return (await s.execute(_loaded().where(Aggregate.id == aggregate_id))).scalars().first()


async def by_name(s: AsyncSession, name: str) -> Aggregate | None:
    return (await s.execute(select(Aggregate).where(Aggregate.name == name))).scalars().first()


async def all_aggregates(s: AsyncSession) -> list[Aggregate]:
    return list((await s.execute(_loaded().order_by(Aggregate.id))).scalars().all())


async def of_hosts(s: AsyncSession, hosts: Sequence[str]) -> list[Aggregate]:
    """The aggregates any of ``hosts`` is in."""
    stmt = (_loaded().join(AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
            .where(AggregateHost.host.in_(list(hosts))).order_by(Aggregate.id))
    return list((await s.execute(stmt)).scalars().unique().all())


def zone_of(agg: Aggregate) -> str | None:
    return next((m.value for m in agg.metadata_items if m.key == AZ_KEY), None)


def metadata_of(agg: Aggregate) -> dict[str, str]:
    return {m.key: m.value for m in agg.metadata_items}


async def zones_by_host(s: AsyncSession) -> dict[str, list[str]]:
    """host -> the zones its aggregates name (hosts in no zoned aggregate are absent)."""
    out: dict[str, list[str]] = {}
    for agg in await all_aggregates(s):
        zone = zone_of(agg)
        if not zone:
            continue
        for h in agg.hosts:
            zones = out.setdefault(h.host, [])
            if zone not in zones:
                zones.append(zone)
    return out


def set_metadata(agg: Aggregate, updates: dict[str, str | None]) -> None:
    """Apply ``updates`` to the loaded aggregate: a None value removes its key."""
    current = {m.key: m for m in agg.metadata_items}
    for key, value in updates.items():
        if value is None:
            if key in current:
                agg.metadata_items.remove(current.pop(key))
        elif key in current:
            current[key].value = value
        else:
            item = AggregateMetadata(key=key, value=value)
            agg.metadata_items.append(item)
            current[key] = item
