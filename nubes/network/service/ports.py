"""Ports: a device's attachment to a network, with its MAC, fixed IPs, security groups and binding.

One transaction per call, retried whole when a concurrent writer took the MAC or an address this
one picked (see ``ipam``). ``create_internal``/``delete_internal`` make and remove ports inside
another service call's transaction (router interfaces and gateways, floating IPs, DHCP ports):
they skip quota and policy, and the caller emits the notifications after its commit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import IPAllocation, Network, Port, PortSecurityGroup
from nubes.network.db.queries import listing
from nubes.network.db.queries import ports as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.exceptions import (
    DeviceIDNotOwnedByTenant,
    MacAddressGenerationFailure,
    MacAddressInUse,
    NetworkNotFound,
    PortBound,
    PortNotFound,
    ServicePortInUse,
    UnsupportedPortDeviceOwner,
)
from nubes.network.service import addresses, ipam, macs, port_parts, quotas, transactions
from nubes.network.service.subnets import NetworkInfo, network_info, networks_info

RESOURCE = "ports"
ROUTER_INTERFACE_OWNERS = ipam.ROUTER_INTERFACE_OWNERS
# Ports that only their router or floating IP may delete (Neutron's l3 router_device_owners).
L3_OWNERS = (*ipam.ROUTER_SNAT_OWNERS, "network:router_gateway", "network:floatingip")


@dataclass
class PortRecord:
    row: Port
    network: NetworkInfo
    tags: list[str] = field(default_factory=list)

    @property
    def host(self) -> str:
        return self.row.binding_host_id or ""

    def policy_target(self, **overrides: Any) -> dict[str, Any]:
        target = {"project_id": self.row.project_id, "tenant_id": self.row.project_id,
                  "network_id": self.row.network_id, "network:tenant_id": self.network.owner,
                  "network:project_id": self.network.owner, "shared": self.network.shared,
                  "router:external": self.network.external, "device_owner": self.row.device_owner,
                  "device_id": self.row.device_id}
        target.update(overrides)
        return target


async def visible(s: AsyncSession, ctx: RequestContext, port_id: str, *,
                  for_update: bool = False) -> tuple[Port, NetworkInfo]:
    row = await q.get(s, port_id, for_update=for_update)
    if row is None:
        raise PortNotFound(port_id)
    info = (await networks_info(s, ctx, {row.network_id}))[row.network_id]
    if not (ctx.is_admin or row.project_id == ctx.project_id or info.owner == ctx.project_id):
        raise PortNotFound(port_id)
    return row, info


async def delete_rows(s: AsyncSession, port_ids: list[str]) -> None:
    """Delete ports and what hangs off them (IP allocations, pairs, options, groups, tags)."""
    if not port_ids:
        return
    for port_id in port_ids:
        await tag_q.delete_all(s, "ports", port_id)
    await q.disassociate_floating_ips(s, port_ids)
    await s.execute(delete(IPAllocation).where(IPAllocation.port_id.in_(port_ids)))
    await s.execute(delete(PortSecurityGroup).where(PortSecurityGroup.port_id.in_(port_ids)))
    await s.execute(delete(Port).where(Port.id.in_(port_ids)))


async def _mac(s: AsyncSession, conf: Any, network_id: str, wanted: str | None) -> str:
    if wanted:
        if await q.mac_in_use(s, network_id, wanted):
            raise MacAddressInUse(wanted, network_id)
        return wanted.lower()
    # Ask about a few random candidates at a time rather than reading every MAC of the network.
    for _ in range(max(1, conf.mac_generation_retries)):
        candidates = [macs.random_mac(conf.base_mac) for _ in range(4)]
        taken = await q.macs_taken(s, network_id, candidates)
        free = [m for m in candidates if m not in taken]
        if free:
            return free[0]
    raise MacAddressGenerationFailure(network_id)


async def build(s: AsyncSession, conf: Any, *, is_admin: bool, network: Network, project_id: str,
                values: dict[str, Any]) -> Port:
    """A new port row with its MAC, addresses, groups, pairs, options and binding (flushed)."""
    owner = values.get("device_owner", "")
    mac = await _mac(s, conf, network.id, values.get("mac_address"))
    port_security = values.get("port_security_enabled")
    if port_security is None:
        port_security = network.port_security_enabled
    groups = await port_parts.groups_for_new_port(s, is_admin, project_id, values, port_security, owner)
    row = Port(id=str(uuid.uuid4()), project_id=project_id, network_id=network.id,
               name=values.get("name", ""),
               description=values.get("description", ""), mac_address=mac,
               admin_state_up=values.get("admin_state_up", True), status="DOWN",
               device_id=values.get("device_id", ""), device_owner=owner, port_security_enabled=port_security,
               binding_host_id=values.get("binding_host_id") or "",
               binding_vnic_type=values.get("binding_vnic_type") or "normal",
               binding_profile=values.get("binding_profile") or {},
               fixed_ips=[], allowed_address_pairs=[], extra_dhcp_opts=[], security_groups=[])
    port_parts.apply_binding(row)
    s.add(row)
    await s.flush()
    allocator = await ipam.Allocator.load(s, network.id)
    chosen = await allocator.for_new_port(values.get("fixed_ips"), mac, owner)
    row.fixed_ips = [IPAllocation(subnet_id=sid, ip_address=ip, network_id=network.id, position=i)
                     for i, (sid, ip) in enumerate(chosen)]
    row.security_groups = [PortSecurityGroup(security_group_id=g) for g in groups]
    row.allowed_address_pairs = port_parts.pair_rows(values.get("allowed_address_pairs") or [], mac)
    row.extra_dhcp_opts = port_parts.dhcp_rows(values.get("extra_dhcp_opts") or [])
    await s.flush()
    return row


async def create_internal(s: AsyncSession, state: Any, *, network_id: str, project_id: str, device_owner: str,
                          device_id: str = "", fixed_ips: list[dict[str, Any]] | None = None, name: str = "",
                          admin_state_up: bool = True, mac_address: str | None = None,
                          binding_host_id: str = "") -> Port:
    """A port made by the cloud itself inside the caller's transaction (no quota, no policy).

    ``fixed_ips`` as on the API (None: the defaults). The caller emits ``port.create`` after
    commit (``Ports.notify``)."""
    from nubes.network.db.queries import networks as net_q

    network = await net_q.get(s, network_id)
    if network is None:
        raise NetworkNotFound(network_id)
    return await build(s, state.conf, is_admin=True, network=network, project_id=project_id, values={
        "device_owner": device_owner, "device_id": device_id, "fixed_ips": fixed_ips, "name": name,
        "admin_state_up": admin_state_up, "mac_address": mac_address, "binding_host_id": binding_host_id})


async def delete_internal(s: AsyncSession, port_id: str) -> tuple[str, str] | None:
    """Remove a port inside the caller's transaction; (network_id, binding host) or None if gone."""
    row = await s.get(Port, port_id)
    if row is None:
        return None
    found = row.network_id, row.binding_host_id or ""
    await delete_rows(s, [port_id])
    return found


class Ports:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def notify(self, action: str, port_id: str, network_id: str, host: str = "", **extra: Any) -> None:
        await self.state.notifier.emit("port", action, port_id, network_id=network_id, host=host, **extra)

    # -- create ---------------------------------------------------------------------------
    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str,
                     authorize: Any) -> PortRecord:
        async def tx(s: AsyncSession) -> tuple[str, str, str]:
            from nubes.network.service.networks import visible as visible_network

            network = await visible_network(s, ctx, values["network_id"])
            info = network_info(ctx, network)
            authorize(info)
            await self._check_router_device(s, ctx, values.get("device_owner", ""),
                                            values.get("device_id", ""), project_id)
            await quotas.check(s, self.state.conf, project_id, "port")
            row = await build(s, self.state.conf, is_admin=ctx.is_admin, network=network,
                              project_id=project_id, values=values)
            if values.get("tags"):
                await tag_q.replace(s, RESOURCE, row.id, values["tags"])
            return row.id, row.network_id, row.binding_host_id

        port_id, network_id, host = await transactions.write(self.state.db, tx)
        await self.notify("create", port_id, network_id, host)
        return await self.show(ctx, port_id)

    async def _check_router_device(self, s: AsyncSession, ctx: RequestContext, owner: str, device_id: str,
                                   project_id: str) -> None:
        """A project may not claim another project's router as the device of its port."""
        if owner not in ROUTER_INTERFACE_OWNERS or ctx.is_admin or not device_id:
            return
        router_project = await q.router_project(s, device_id)
        if router_project is not None and router_project != project_id:
            raise DeviceIDNotOwnedByTenant(device_id)

    # -- read -----------------------------------------------------------------------------
    async def show(self, ctx: RequestContext, port_id: str) -> PortRecord:
        async with self.state.db.reader() as s:
            row, info = await visible(s, ctx, port_id)
            return PortRecord(row, info, (await tag_q.of(s, RESOURCE, [row.id]))[row.id])

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[PortRecord], bool]:
        # Plain rows, not ORM objects: a list of 10,000 ports costs a fraction of the time.
        stmt = q.columns_select()
        if not ctx.is_admin:
            stmt = stmt.where(q.visible_to(ctx.project_id))
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, Port, q.FILTERS, query, RESOURCE, not_found=PortNotFound,
                                            scalars=False)
            ids = [r.id for r in rows]
            kids = await q.children(s, ids, {r.network_id for r in rows})
            infos = await networks_info(s, ctx, {r.network_id for r in rows})
            tags = await tag_q.of(s, RESOURCE, ids)
            return [PortRecord(SimpleNamespace(**r._mapping, **kids[r.id]), infos[r.network_id], tags[r.id])
                    for r in rows], more

    # -- update ---------------------------------------------------------------------------
    async def update(self, ctx: RequestContext, port_id: str, values: dict[str, Any],
                     check: Any) -> PortRecord:
        async def tx(s: AsyncSession) -> tuple[str, str, str, bool]:
            row, info = await visible(s, ctx, port_id, for_update=True)
            old_host = row.binding_host_id or ""
            old_ips = sorted(a.ip_address for a in row.fixed_ips)
            check(row, PortRecord(row, info))
            owner = values.get("device_owner", row.device_owner)
            if "device_owner" in values or values.get("device_id", row.device_id) != row.device_id:
                await self._check_router_device(s, ctx, owner, values.get("device_id", row.device_id),
                                                row.project_id)
            mac = values.get("mac_address")
            if mac and mac.lower() != row.mac_address.lower():
                await self._change_mac(s, row, mac.lower(), owner)
            if "fixed_ips" in values:
                await self._change_addresses(s, row, values["fixed_ips"] or [], owner)
            await port_parts.update_security(s, ctx.is_admin, row, values)
            await port_parts.update_dhcp_opts(s, row, values.get("extra_dhcp_opts"))
            for key in ("name", "description", "admin_state_up", "device_id", "device_owner"):
                if key in values:
                    setattr(row, key, values[key])
            if "binding_host_id" in values:
                row.binding_host_id = values["binding_host_id"] or ""
            if "binding_profile" in values:
                row.binding_profile = values["binding_profile"] or {}
            if "binding_vnic_type" in values:
                row.binding_vnic_type = values["binding_vnic_type"]
            port_parts.apply_binding(row)
            transactions.bump(row)
            readdressed = old_ips != sorted(a.ip_address for a in row.fixed_ips)
            return row.network_id, row.binding_host_id or "", old_host, readdressed

        network_id, host, old_host, readdressed = await transactions.write(self.state.db, tx)
        extra = {"previous_host": old_host} if old_host != host else {}
        await self.notify("update", port_id, network_id, host, **extra)
        if readdressed:
            await self.state.compute_events.ports_changed([port_id])
        return await self.show(ctx, port_id)

    async def _change_mac(self, s: AsyncSession, row: Port, mac: str, owner: str) -> None:
        if owner.startswith("network:"):
            raise UnsupportedPortDeviceOwner("mac address update", owner, row.id)
        if port_parts.is_bound(row):
            raise PortBound(row.id, row.binding_vif_type, row.mac_address, mac)
        if await q.mac_in_use(s, row.network_id, mac, except_port=row.id):
            raise MacAddressInUse(mac, row.network_id)
        old = row.mac_address
        row.mac_address = mac
        # EUI-64 addresses follow the MAC.
        allocator = await ipam.Allocator.load(s, row.network_id)
        auto = {x.id: x for x in allocator.subnets if ipam.is_auto(x)}
        moved = [a for a in row.fixed_ips if a.subnet_id in auto
                 and a.ip_address == addresses.eui64(auto[a.subnet_id].cidr, old)]
        if moved:
            keep = [a for a in row.fixed_ips if a not in moved]
            row.fixed_ips = keep
            await s.flush()
            for a in moved:
                subnet = auto[a.subnet_id]
                sid, ip = await allocator.take(subnet, addresses.eui64(subnet.cidr, mac))
                row.fixed_ips.append(IPAllocation(subnet_id=sid, ip_address=ip, network_id=row.network_id,
                                                  position=a.position))

    async def _change_addresses(self, s: AsyncSession, row: Port, requests: list[dict[str, Any]],
                                owner: str) -> None:
        allocator = await ipam.Allocator.load(s, row.network_id)
        original = [(a.subnet_id, a.ip_address) for a in row.fixed_ips]
        changes = await allocator.for_update(original, requests, row.mac_address, owner)
        if not changes.add and not changes.remove:
            return
        kept = {(sid, ip) for sid, ip in changes.keep}
        row.fixed_ips = [a for a in row.fixed_ips if (a.subnet_id, a.ip_address) in kept]
        await s.flush()
        for sid, ip in changes.add:
            row.fixed_ips.append(IPAllocation(subnet_id=sid, ip_address=ip, network_id=row.network_id))
        for i, alloc in enumerate(row.fixed_ips):
            alloc.position = i

    async def set_status(self, port_id: str, status: str) -> bool:
        """Agents report a port ACTIVE, DOWN or ERROR; False if the port is gone."""
        async def tx(s: AsyncSession) -> tuple[str, str, tuple[str, str, str, str]] | None:
            stmt = select(Port).where(Port.id == port_id).with_for_update()
            row = (await s.execute(stmt)).scalars().first()
            if row is None:
                return None
            change = (row.device_owner, row.device_id, row.status, status)
            if row.status != status:
                row.status = status
                transactions.bump(row)
            return row.network_id, row.binding_host_id or "", change

        found = await transactions.write(self.state.db, tx)
        if found is not None:
            await self.notify("update", port_id, found[0], found[1])
            self.state.compute_events.port_status(port_id, *found[2])
        return found is not None

    # -- delete ---------------------------------------------------------------------------
    async def delete(self, ctx: RequestContext, port_id: str, check: Any) -> None:
        async def tx(s: AsyncSession) -> tuple[str, str]:
            row, info = await visible(s, ctx, port_id, for_update=True)
            check(row, PortRecord(row, info))
            if row.device_owner in L3_OWNERS and row.fixed_ips and await self._owner_exists(s, row):
                raise ServicePortInUse(row.id, f"has device owner {row.device_owner}")
            found = row.network_id, row.binding_host_id or "", row.device_owner, row.device_id
            await delete_rows(s, [row.id])
            return found

        network_id, host, owner, device = await transactions.write(self.state.db, tx)
        await self.notify("delete", port_id, network_id, host)
        self.state.compute_events.port_deleted(port_id, owner, device)

    async def _owner_exists(self, s: AsyncSession, row: Port) -> bool:
        if row.device_owner == "network:floatingip":
            return await q.floating_ip_exists(s, row.device_id)
        return await q.router_project(s, row.device_id) is not None
