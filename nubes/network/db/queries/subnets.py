"""Subnet rows: who may see them, list filters, eager loading, and the allocations that hold them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import (
    AllocationPool,
    DnsNameserver,
    IPAllocation,
    Network,
    NetworkRbac,
    Port,
    Subnet,
    SubnetRoute,
)
from nubes.network.db.queries.listing import Filter, col

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"


def _network_rbac(action: str, targets: list[str]) -> ColumnElement:
    return exists().where(NetworkRbac.object_id == Subnet.network_id, NetworkRbac.action == action,
                          NetworkRbac.target_project.in_(targets))


def visible_to(project_id: str | None) -> ColumnElement:
    """Own subnets and the subnets of networks shared with the project (or everyone) or external."""
    targets = ["*"] + ([project_id] if project_id else [])
    return or_(Subnet.project_id == project_id if project_id else false(),
               _network_rbac(SHARED, targets), _network_rbac(EXTERNAL, targets))


FILTERS: dict[str, Filter] = {
    "id": col(Subnet.id), "name": col(Subnet.name), "description": col(Subnet.description),
    "tenant_id": col(Subnet.project_id), "project_id": col(Subnet.project_id),
    "network_id": col(Subnet.network_id), "ip_version": col(Subnet.ip_version, "int"),
    "cidr": col(Subnet.cidr), "gateway_ip": col(Subnet.gateway_ip),
    "enable_dhcp": col(Subnet.enable_dhcp, "bool"), "ipv6_ra_mode": col(Subnet.ipv6_ra_mode),
    "ipv6_address_mode": col(Subnet.ipv6_address_mode), "subnetpool_id": col(Subnet.subnetpool_id),
    "segment_id": col(Subnet.segment_id), "revision_number": col(Subnet.revision_number, "int"),
    "created_at": col(Subnet.created_at), "updated_at": col(Subnet.updated_at),
}


def base_select() -> Any:
    return select(Subnet).options(selectinload(Subnet.allocation_pools), selectinload(Subnet.dns_nameservers),
                                  selectinload(Subnet.host_routes))


async def get(s: AsyncSession, subnet_id: str, *, for_update: bool = False) -> Subnet | None:
    stmt = base_select().where(Subnet.id == subnet_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def of_network(s: AsyncSession, network_id: str) -> list[Subnet]:
    stmt = base_select().where(Subnet.network_id == network_id).order_by(Subnet.created_at, Subnet.id)
    return list((await s.execute(stmt)).scalars().all())


async def of_networks(s: AsyncSession, network_ids: Iterable[str]) -> list[Subnet]:
    ids = list(network_ids)
    if not ids:
        return []
    stmt = base_select().where(Subnet.network_id.in_(ids)).order_by(Subnet.created_at, Subnet.id)
    return list((await s.execute(stmt)).scalars().all())


async def by_ids(s: AsyncSession, ids: Iterable[str]) -> list[Subnet]:
    ids = list(ids)
    if not ids:
        return []
    return list((await s.execute(base_select().where(Subnet.id.in_(ids)))).scalars().all())


async def network_for_update(s: AsyncSession, network_id: str) -> Network | None:
    """Lock the network row: subnets of one network are created one at a time (no overlap race)."""
    stmt = select(Network).where(Network.id == network_id).with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def used_addresses(s: AsyncSession, subnet_id: str) -> list[str]:
    rows = await s.execute(select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet_id))
    return [ip for ip, in rows.all()]


async def addresses_taken(s: AsyncSession, subnet_id: str, ips: list[str]) -> set[str]:
    """Which of ``ips`` are allocated on the subnet."""
    if not ips:
        return set()
    rows = await s.execute(select(IPAllocation.ip_address).where(IPAllocation.subnet_id == subnet_id,
                                                                 IPAllocation.ip_address.in_(ips)))
    return {ip for ip, in rows.all()}


async def allocation_counts(s: AsyncSession, subnet_ids: Iterable[str]) -> dict[str, int]:
    ids = list(subnet_ids)
    if not ids:
        return {}
    rows = await s.execute(select(IPAllocation.subnet_id, func.count()).where(IPAllocation.subnet_id.in_(ids))
                           .group_by(IPAllocation.subnet_id))
    return dict(rows.all())


async def allocation_holders(s: AsyncSession, subnet_id: str) -> list[tuple[str, str, str]]:
    """(port id, device_owner, ip) of every allocation on the subnet."""
    rows = await s.execute(select(IPAllocation.port_id, Port.device_owner, IPAllocation.ip_address)
                           .join(Port, Port.id == IPAllocation.port_id)
                           .where(IPAllocation.subnet_id == subnet_id))
    return [tuple(r) for r in rows.all()]   # type: ignore[misc]


async def delete_allocations(s: AsyncSession, subnet_id: str) -> None:
    await s.execute(delete(IPAllocation).where(IPAllocation.subnet_id == subnet_id))


async def ports_on_network(s: AsyncSession, network_id: str) -> list[tuple[str, str, str]]:
    """(id, mac_address, device_owner) of the network's ports."""
    rows = await s.execute(select(Port.id, Port.mac_address, Port.device_owner)
                           .where(Port.network_id == network_id))
    return [tuple(r) for r in rows.all()]   # type: ignore[misc]


async def replace_children(s: AsyncSession, row: Subnet, *, pools: list[tuple[str, str]] | None = None,
                           dns: list[str] | None = None, routes: list[tuple[str, str]] | None = None) -> None:
    """Replace a subnet's pools, DNS servers or routes (old rows deleted first: the keys may repeat)."""
    if pools is not None:
        row.allocation_pools = []
    if dns is not None:
        row.dns_nameservers = []
    if routes is not None:
        row.host_routes = []
    await s.flush()
    if pools is not None:
        row.allocation_pools = [AllocationPool(first_ip=a, last_ip=b, position=i)
                                for i, (a, b) in enumerate(pools)]
    if dns is not None:
        row.dns_nameservers = [DnsNameserver(address=a, position=i) for i, a in enumerate(dns)]
    if routes is not None:
        row.host_routes = [SubnetRoute(destination=d, nexthop=n, position=i)
                           for i, (d, n) in enumerate(routes)]
