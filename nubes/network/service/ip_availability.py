"""Network IP availability: per network and subnet, how many addresses the pools hold and how
many are allocated (Neutron's network-ip-availability extension; admins only by policy)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Network
from nubes.network.db.queries import subnets as subnet_q
from nubes.network.exceptions import NetworkNotFound
from nubes.network.service import addresses


@dataclass
class SubnetUsage:
    subnet_id: str
    name: str
    cidr: str
    ip_version: int
    total: int
    used: int


@dataclass
class NetworkUsage:
    network_id: str
    name: str
    project_id: str
    subnets: list[SubnetUsage] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(x.total for x in self.subnets)

    @property
    def used(self) -> int:
        return sum(x.used for x in self.subnets)


async def _usage(s: AsyncSession, networks: list[Network],
                 ip_versions: list[int] | None) -> list[NetworkUsage]:
    subnets = await subnet_q.of_networks(s, [n.id for n in networks])
    if ip_versions:
        subnets = [x for x in subnets if x.ip_version in ip_versions]
    counts = await subnet_q.allocation_counts(s, [x.id for x in subnets])
    out = {n.id: NetworkUsage(n.id, n.name, n.project_id) for n in networks}
    for x in subnets:
        pools = [addresses.Range.of(p.first_ip, p.last_ip) for p in x.allocation_pools]
        out[x.network_id].subnets.append(SubnetUsage(x.id, x.name, x.cidr, x.ip_version,
                                                     addresses.pools_size(pools), counts.get(x.id, 0)))
    if ip_versions:
        return [u for u in out.values() if u.subnets]
    return list(out.values())


class IpAvailability:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def list(self, filters: dict[str, list[Any]]) -> list[NetworkUsage]:
        stmt = select(Network).order_by(Network.id)
        for key, column in (("network_id", Network.id), ("network_name", Network.name),
                            ("project_id", Network.project_id), ("tenant_id", Network.project_id)):
            if key in filters:
                stmt = stmt.where(column.in_(filters[key]))
        async with self.state.db.reader() as s:
            networks = list((await s.execute(stmt)).scalars().all())
            return await _usage(s, networks, filters.get("ip_version"))

    async def show(self, network_id: str) -> NetworkUsage:
        async with self.state.db.reader() as s:
            network = await s.get(Network, network_id)
            if network is None:
                raise NetworkNotFound(network_id)
            return (await _usage(s, [network], None))[0]
