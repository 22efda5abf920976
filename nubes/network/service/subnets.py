"""Subnets: IPv4 and IPv6 address ranges of a network, their pools, DNS servers and host routes.

One transaction per call. Creating a subnet locks its network row, so two concurrent creates
on one network cannot both pass the overlap check; a CIDR from a subnet pool is taken under the
pool's row lock. A new SLAAC / DHCPv6-stateless subnet gives every existing (non-router) port of
the network its EUI-64 address, as Neutron does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import IPAllocation, Network, Port, Subnet
from nubes.network.db.queries import listing
from nubes.network.db.queries import networks as net_q
from nubes.network.db.queries import subnets as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.exceptions import (
    GatewayIpInUse,
    NetworkNotFound,
    NetworkSubnetPoolAffinityError,
    ResourceBadRequest,
    SubnetInUse,
    SubnetNotFound,
)
from nubes.network.service import addresses, quotas, subnet_checks, subnetpools, transactions
from nubes.network.service.subnet_checks import NOT_SET

RESOURCE = "subnets"
AUTO_DELETE_OWNERS = ("network:dhcp",)
ROUTER_INTERFACE_OWNERS = ("network:router_interface", "network:ha_router_replicated_interface",
                           "network:router_interface_distributed")
ROUTER_SNAT_OWNERS = (*ROUTER_INTERFACE_OWNERS, "network:router_centralized_snat")


@dataclass
class NetworkInfo:
    owner: str
    shared: bool
    external: bool


@dataclass
class SubnetRecord:
    row: Subnet
    network: NetworkInfo
    tags: list[str] = field(default_factory=list)

    @property
    def pools(self) -> list[addresses.Range]:
        return [addresses.Range.of(p.first_ip, p.last_ip) for p in self.row.allocation_pools]

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                "network:tenant_id": self.network.owner, "network:project_id": self.network.owner,
                "shared": self.network.shared, "router:external": self.network.external}


def network_info(ctx: RequestContext, row: Network) -> NetworkInfo:
    from nubes.network.service.networks import is_external, is_shared_for

    return NetworkInfo(row.project_id, is_shared_for(row, ctx.project_id) or is_shared_for(row, None),
                       is_external(row))


async def networks_info(s: AsyncSession, ctx: RequestContext, ids: set[str]) -> dict[str, NetworkInfo]:
    if not ids:
        return {}
    rows = (await s.execute(net_q.base_select().where(Network.id.in_(list(ids))))).scalars().all()
    return {r.id: network_info(ctx, r) for r in rows}


def is_auto_address(row: Subnet) -> bool:
    return row.ip_version == 6 and addresses.is_auto_address(row.ipv6_ra_mode, row.ipv6_address_mode)


async def visible(s: AsyncSession, ctx: RequestContext, subnet_id: str, *,
                  for_update: bool = False) -> tuple[Subnet, NetworkInfo]:
    row = await q.get(s, subnet_id, for_update=for_update)
    if row is None:
        raise SubnetNotFound(subnet_id)
    info = (await networks_info(s, ctx, {row.network_id}))[row.network_id]
    if not (ctx.is_admin or row.project_id == ctx.project_id or info.shared or info.external):
        raise SubnetNotFound(subnet_id)
    return row, info


async def delete_all_of_network(s: AsyncSession, network_id: str) -> None:
    """Remove every subnet of a network being deleted (its ports are gone already)."""
    ids = [i for i, in (await s.execute(select(Subnet.id).where(Subnet.network_id == network_id))).all()]
    for subnet_id in ids:
        await tag_q.delete_all(s, "subnets", subnet_id)
    if ids:
        await s.execute(delete(IPAllocation).where(IPAllocation.subnet_id.in_(ids)))
        await s.execute(delete(Subnet).where(Subnet.id.in_(ids)))


class Subnets:
    def __init__(self, state: Any) -> None:
        self.state = state

    # -- create ---------------------------------------------------------------------------
    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str,
                     authorize: Any) -> SubnetRecord:
        has_cidr = values.get("cidr") is not None
        if has_cidr and values.get("prefixlen") is not None:
            raise ResourceBadRequest("subnets", "cidr and prefixlen must not be supplied together")
        if values.get("use_default_subnetpool") and values.get("subnetpool_id"):
            raise ResourceBadRequest("subnets", "subnetpool_id and use_default_subnetpool cannot both be "
                                     "specified")
        if has_cidr:
            values = {**values, "cidr": addresses.normalize(values["cidr"])}

        async def tx(s: AsyncSession) -> tuple[str, str, list[str]]:
            from nubes.network.service.networks import visible as visible_network

            network = await visible_network(s, ctx, values["network_id"], for_update=True)
            authorize(network_info(ctx, network))
            pool_id = await self._pool_id(s, ctx, values)
            cidr = values.get("cidr")
            if not pool_id and not has_cidr:
                raise ResourceBadRequest("subnets", "a subnetpool must be specified in the absence of a cidr")
            if pool_id:
                if values.get("allocation_pools") is not None and not has_cidr:
                    raise ResourceBadRequest("subnets", "allocation_pools allowed only for specific subnet "
                                             "requests.")
                pool = await subnetpools.visible(s, ctx, pool_id)
                if values["ip_version"] != pool.ip_version:
                    raise ResourceBadRequest("subnets", f"Cannot allocate IPv{values['ip_version']} subnet "
                                             f"from IPv{pool.ip_version} subnet pool")
                cidr = await subnetpools.allocate(s, pool_id, project_id, prefixlen=values.get("prefixlen"),
                                                  cidr=cidr)
            spec = {**values, "cidr": cidr}
            subnet_checks.validate(spec, self.state.conf)
            gateway = values.get("gateway_ip", NOT_SET)
            gateway = addresses.first_host(cidr) if gateway is NOT_SET else gateway
            pools = subnet_checks.prepare_pools(values.get("allocation_pools"), cidr, gateway)
            others = await q.of_network(s, network.id)
            subnet_checks.check_cidr_on_network(cidr, others, network.id)
            if any(o.ip_version == values["ip_version"] and o.subnetpool_id != pool_id for o in others):
                raise NetworkSubnetPoolAffinityError()
            await quotas.check(s, self.state.conf, project_id, "subnet")
            row = Subnet(id=str(uuid.uuid4()), project_id=project_id, network_id=network.id,
                         name=values.get("name", ""), description=values.get("description", ""),
                         ip_version=values["ip_version"], cidr=cidr, gateway_ip=gateway,
                         enable_dhcp=values.get("enable_dhcp", True), ipv6_ra_mode=values.get("ipv6_ra_mode"),
                         ipv6_address_mode=values.get("ipv6_address_mode"), subnetpool_id=pool_id,
                         allocation_pools=[], dns_nameservers=[], host_routes=[])
            s.add(row)
            await s.flush()
            await q.replace_children(s, row, pools=[(p.start, p.end) for p in pools],
                                     dns=list(values.get("dns_nameservers") or []),
                                     routes=[(r["destination"], r["nexthop"])
                                             for r in values.get("host_routes") or []])
            if values.get("tags"):
                await tag_q.replace(s, RESOURCE, row.id, values["tags"])
            touched = await self._auto_addresses(s, row) if is_auto_address(row) else []
            transactions.bump(network)
            return row.id, network.id, touched

        subnet_id, network_id, touched = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("subnet", "create", subnet_id, network_id=network_id)
        for port_id in touched:
            await self.state.notifier.emit("port", "update", port_id, network_id=network_id)
        return await self.show(ctx, subnet_id)

    async def _pool_id(self, s: AsyncSession, ctx: RequestContext, values: dict[str, Any]) -> str | None:
        if values.get("subnetpool_id"):
            return values["subnetpool_id"]
        if not values.get("use_default_subnetpool"):
            return None
        version = addresses.network(values["cidr"]).version if values.get("cidr") else values["ip_version"]
        from nubes.network.db.queries import subnetpools as pool_q

        pool = await pool_q.default_pool(s, version)
        if pool is None:
            raise ResourceBadRequest("subnets", f"No default subnetpool found for IPv{version}")
        return pool.id

    async def _auto_addresses(self, s: AsyncSession, row: Subnet) -> list[str]:
        """EUI-64 addresses on the new auto-address subnet for the network's existing ports."""
        ports = (await s.execute(select(Port).where(Port.network_id == row.network_id))).scalars().all()
        touched = []
        for port in ports:
            if port.device_owner in ROUTER_SNAT_OWNERS:
                continue
            s.add(IPAllocation(subnet_id=row.id, ip_address=addresses.eui64(row.cidr, port.mac_address),
                               port_id=port.id, network_id=row.network_id, position=100))
            transactions.bump(port)
            touched.append(port.id)
        return touched

    # -- read -----------------------------------------------------------------------------
    async def show(self, ctx: RequestContext, subnet_id: str) -> SubnetRecord:
        async with self.state.db.reader() as s:
            row, info = await visible(s, ctx, subnet_id)
            return SubnetRecord(row, info, (await tag_q.of(s, RESOURCE, [row.id]))[row.id])

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[SubnetRecord], bool]:
        stmt = q.base_select()
        if not ctx.is_admin:
            stmt = stmt.where(q.visible_to(ctx.project_id))
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, Subnet, q.FILTERS, query, RESOURCE,
                                            not_found=SubnetNotFound)
            infos = await networks_info(s, ctx, {r.network_id for r in rows})
            tags = await tag_q.of(s, RESOURCE, [r.id for r in rows])
            return [SubnetRecord(r, infos[r.network_id], tags[r.id]) for r in rows], more

    # -- update ---------------------------------------------------------------------------
    async def update(self, ctx: RequestContext, subnet_id: str, values: dict[str, Any],
                     check: Any) -> SubnetRecord:
        async def tx(s: AsyncSession) -> str:
            row, info = await visible(s, ctx, subnet_id, for_update=True)
            check(row, SubnetRecord(row, info))
            spec = {**values, "ip_version": row.ip_version, "cidr": row.cidr}
            subnet_checks.validate(spec, self.state.conf, current=row)
            gateway = values.get("gateway_ip", NOT_SET)
            changing = gateway is not NOT_SET and gateway is not None and gateway != row.gateway_ip
            if changing and row.gateway_ip:
                for port_id, owner, ip in await q.allocation_holders(s, row.id):
                    if ip == row.gateway_ip and owner in ROUTER_INTERFACE_OWNERS:
                        raise GatewayIpInUse(row.gateway_ip, port_id)
            pools = None
            if values.get("allocation_pools") is not None:
                pools = addresses.parse_pools(values["allocation_pools"])
                addresses.validate_pools(pools, row.cidr)
            new_gateway = row.gateway_ip if gateway is NOT_SET else gateway
            if new_gateway and (new_gateway != row.gateway_ip or pools is not None):
                addresses.check_gateway_outside_pools(
                    new_gateway, pools if pools is not None else SubnetRecord(row, info).pools)
            for key in ("name", "description", "enable_dhcp"):
                if key in values:
                    setattr(row, key, values[key])
            if gateway is not NOT_SET:
                row.gateway_ip = gateway
            await q.replace_children(
                s, row, pools=[(p.start, p.end) for p in pools] if pools is not None else None,
                dns=list(values["dns_nameservers"] or []) if "dns_nameservers" in values else None,
                routes=[(r["destination"], r["nexthop"]) for r in values["host_routes"] or []]
                if "host_routes" in values else None)
            transactions.bump(row)
            return row.network_id

        network_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("subnet", "update", subnet_id, network_id=network_id)
        return await self.show(ctx, subnet_id)

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, ctx: RequestContext, subnet_id: str, check: Any) -> None:
        async def tx(s: AsyncSession) -> tuple[str, list[str]]:
            row, info = await visible(s, ctx, subnet_id)
            check(row, SubnetRecord(row, info))
            # Lock the network before the subnet, in the order port creates take them (their rows
            # reference both), so the two never wait on each other in a cycle.
            network = await q.network_for_update(s, row.network_id)
            if network is None:
                raise NetworkNotFound(row.network_id)
            row = await q.get(s, subnet_id, for_update=True)
            if row is None:
                raise SubnetNotFound(subnet_id)
            holders = await q.allocation_holders(s, row.id)
            if any(owner in ROUTER_INTERFACE_OWNERS for _, owner, _ip in holders):
                raise SubnetInUse(subnet_id)
            if not is_auto_address(row) and any(owner not in AUTO_DELETE_OWNERS for _, owner, _ip in holders):
                raise SubnetInUse(subnet_id)
            await q.delete_allocations(s, row.id)
            touched = sorted({port_id for port_id, _, _ in holders})
            for port in (await s.execute(select(Port).where(Port.id.in_(touched)))).scalars().all():
                transactions.bump(port)
            await tag_q.delete_all(s, RESOURCE, row.id)
            transactions.bump(network)
            await s.delete(row)
            return row.network_id, touched

        network_id, touched = await transactions.write(self.state.db, tx)
        for port_id in touched:
            await self.state.notifier.emit("port", "update", port_id, network_id=network_id)
        await self.state.notifier.emit("subnet", "delete", subnet_id, network_id=network_id)
