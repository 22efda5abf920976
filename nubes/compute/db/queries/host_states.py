"""Reads the scheduler needs about hosts: compute nodes by provider uuid, their services,
aggregates (zones and metadata) and how many instances each host runs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import Aggregate, AggregateHost, ComputeNode, Instance, Service

COMPUTE_BINARY = "nova-compute"


async def nodes(s: AsyncSession, uuids: Sequence[str] | None = None) -> list[ComputeNode]:
    stmt = select(ComputeNode)
    if uuids is not None:
        stmt = stmt.where(ComputeNode.uuid.in_(list(uuids)))
    return list((await s.execute(stmt.order_by(ComputeNode.host, ComputeNode.hypervisor_hostname)))
                .scalars().all())


async def services(s: AsyncSession, hosts: Sequence[str]) -> dict[str, Service]:
    """host -> its compute service (any service of the host when no nova-compute row exists)."""
    rows = (await s.execute(select(Service).where(Service.host.in_(list(hosts))))).scalars().all()
    out: dict[str, Service] = {}
    for row in rows:
        if row.host not in out or row.binary == COMPUTE_BINARY:
            out[row.host] = row
    return out


async def aggregates_by_host(s: AsyncSession, hosts: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """host -> the metadata of each aggregate it is in."""
    stmt = (select(Aggregate).join(AggregateHost, AggregateHost.aggregate_id == Aggregate.id)
            .where(AggregateHost.host.in_(list(hosts)))
            .options(selectinload(Aggregate.hosts), selectinload(Aggregate.metadata_items)))
    out: dict[str, list[dict[str, str]]] = {h: [] for h in hosts}
    for agg in (await s.execute(stmt)).scalars().unique().all():
        meta = {m.key: m.value for m in agg.metadata_items}
        for h in agg.hosts:
            if h.host in out:
                out[h.host].append(meta)
    return out


async def zones_of_hosts(s: AsyncSession) -> dict[str, set[str]]:
    """host -> the availability zones its aggregates put it in (empty: the default zone)."""
    stmt = select(Aggregate).options(selectinload(Aggregate.hosts), selectinload(Aggregate.metadata_items))
    out: dict[str, set[str]] = {}
    for agg in (await s.execute(stmt)).scalars().all():
        zone = next((m.value for m in agg.metadata_items if m.key == "availability_zone"), None)
        for h in agg.hosts:
            out.setdefault(h.host, set())
            if zone:
                out[h.host].add(zone)
    return out


async def compute_services(s: AsyncSession) -> list[Service]:
    return list((await s.execute(select(Service).where(Service.binary == COMPUTE_BINARY))).scalars().all())


async def instance_counts(s: AsyncSession, hosts: Sequence[str]) -> dict[str, int]:
    rows = (await s.execute(select(Instance.host, func.count()).where(
        Instance.host.in_(list(hosts)), Instance.deleted.is_(False)).group_by(Instance.host))).all()
    return {h: int(n) for h, n in rows}


async def hosts_of(s: AsyncSession, instance_ids: Sequence[str]) -> list[str]:
    if not instance_ids:
        return []
    rows = (await s.execute(select(Instance.host).where(Instance.id.in_(list(instance_ids)),
                                                        Instance.host.is_not(None)))).scalars().all()
    return sorted(set(rows))
