"""Service and compute node rows: lookups, listings with Nova's filters, instances and moves of a host."""

from __future__ import annotations

from collections.abc import Sequence
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.compute.db.models import ComputeNode, Instance, Migration, Service

COMPUTE_BINARY = "nova-compute"
CONDUCTOR_BINARY = "nova-conductor"
SCHEDULER_BINARY = "nova-scheduler"
TOPICS = {COMPUTE_BINARY: "compute", CONDUCTOR_BINARY: "conductor", SCHEDULER_BINARY: "scheduler"}
# A move in one of these states is over: neither end needs the guest's other copy any more.
FINAL_MIGRATION_STATUSES = ("confirmed", "reverted", "error", "failed", "completed", "cancelled", "done")


# -- services ---------------------------------------------------------------------------------
async def service(s: AsyncSession, host: str, binary: str) -> Service | None:
    return (await s.execute(select(Service).where(Service.host == host, Service.binary == binary))
            ).scalars().first()


async def service_by_id(s: AsyncSession, service_id: int) -> Service | None:
    return await s.get(Service, service_id)


async def service_by_uuid(s: AsyncSession, uuid: str) -> Service | None:
    return (await s.execute(select(Service).where(Service.uuid == uuid))).scalars().first()


async def services(s: AsyncSession, *, host: str | None = None, binary: str | None = None) -> list[Service]:
    stmt = select(Service)
    if host:
        stmt = stmt.where(Service.host == host)
    if binary:
        stmt = stmt.where(Service.binary == binary)
    return list((await s.execute(stmt.order_by(Service.id))).scalars().all())


async def compute_services(s: AsyncSession, hosts: Sequence[str] | None = None) -> dict[str, Service]:
    stmt = select(Service).where(Service.binary == COMPUTE_BINARY)
    if hosts is not None:
        stmt = stmt.where(Service.host.in_(list(hosts)))
    return {row.host: row for row in (await s.execute(stmt)).scalars().all()}


# -- compute nodes ----------------------------------------------------------------------------
async def node_by_uuid(s: AsyncSession, uuid: str) -> ComputeNode | None:
    return (await s.execute(select(ComputeNode).where(ComputeNode.uuid == uuid))).scalars().first()


async def node_by_id(s: AsyncSession, node_id: int) -> ComputeNode | None:
    return await s.get(ComputeNode, node_id)


async def node_by_hostname(s: AsyncSession, hypervisor_hostname: str) -> ComputeNode | None:
    return (await s.execute(select(ComputeNode).where(ComputeNode.hypervisor_hostname == hypervisor_hostname))
            ).scalars().first()


async def nodes_of_host(s: AsyncSession, host: str) -> list[ComputeNode]:
    return list((await s.execute(select(ComputeNode).where(ComputeNode.host == host)
                                 .order_by(ComputeNode.id))).scalars().all())


async def nodes(s: AsyncSession, *, pattern: str | None = None, after_id: int | None = None,
                limit: int | None = None) -> list[ComputeNode]:
    """Nodes in id order; ``pattern`` matches a part of the hypervisor hostname (as SQL LIKE %p%)."""
    stmt = select(ComputeNode)
    if pattern is not None:
        escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(ComputeNode.hypervisor_hostname.like(f"%{escaped}%", escape="\\"))
    if after_id is not None:
        stmt = stmt.where(ComputeNode.id > after_id)
    stmt = stmt.order_by(ComputeNode.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())


async def delete_nodes_of_host(s: AsyncSession, host: str) -> None:
    await s.execute(delete(ComputeNode).where(ComputeNode.host == host))


# -- instances and moves of hosts ---------------------------------------------------------------
async def instance_count(s: AsyncSession, host: str) -> int:
    return int((await s.execute(select(func.count()).select_from(Instance).where(
        Instance.host == host, Instance.deleted.is_(False)))).scalar_one())


async def busy_counts(s: AsyncSession, hosts: Sequence[str]) -> dict[str, int]:
    """host -> instances with a task under way (Nova's ``current_workload``)."""
    rows = (await s.execute(select(Instance.host, func.count()).where(
        Instance.host.in_(list(hosts)), Instance.deleted.is_(False), Instance.task_state.is_not(None))
        .group_by(Instance.host))).all()
    return {h: int(n) for h, n in rows}


async def servers_of_hosts(s: AsyncSession, hosts: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """host -> [(server name, uuid)] of its live instances."""
    rows = (await s.execute(select(Instance.host, Instance.display_name, Instance.id).where(
        Instance.host.in_(list(hosts)), Instance.deleted.is_(False))
        .order_by(Instance.created_at, Instance.id))).all()
    out: dict[str, list[tuple[str, str]]] = {h: [] for h in hosts}
    for host, name, iid in rows:
        out[host].append((name, iid))
    return out


async def instances_of_host(s: AsyncSession, host: str) -> list[Instance]:
    stmt = (select(Instance).options(selectinload(Instance.metadata_items))
            .where(Instance.host == host, Instance.deleted.is_(False)).order_by(Instance.created_at))
    return list((await s.execute(stmt)).scalars().all())


async def moves_of_host(s: AsyncSession, host: str) -> list[Migration]:
    """Moves under way from or to ``host``."""
    stmt = select(Migration).where(or_(Migration.source_compute == host, Migration.dest_compute == host),
                                   Migration.status.not_in(FINAL_MIGRATION_STATUSES))
    return list((await s.execute(stmt.order_by(Migration.id))).scalars().all())


async def instances_by_ids(s: AsyncSession, ids: Sequence[str]) -> list[Instance]:
    if not ids:
        return []
    stmt = (select(Instance).options(selectinload(Instance.metadata_items))
            .where(Instance.id.in_(list(ids)), Instance.deleted.is_(False)))
    return list((await s.execute(stmt)).scalars().all())


async def instances_in_zone(s: AsyncSession, hosts: Sequence[str], zone: str) -> int:
    if not hosts:
        return 0
    return int((await s.execute(select(func.count()).select_from(Instance).where(
        Instance.host.in_(list(hosts)), Instance.deleted.is_(False),
        Instance.availability_zone == zone))).scalar_one())
