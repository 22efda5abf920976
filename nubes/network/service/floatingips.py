"""Floating IPs: an address on an external network, 1:1 NATed by a router to a port's fixed IP.

A floating IP owns a port on its external network (``network:floatingip``, no project, as
Neutron) that holds the address. It can be associated with a port whose fixed IP is on a
subnet attached to a router that has its gateway on that external network; that router is
the one that will NAT it (``router_id``). Its status is DOWN until the L3 agent reports it.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network import exceptions as exc
from nubes.network.db.models import FloatingIP, Port, Router
from nubes.network.db.queries import listing
from nubes.network.db.queries import routers as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.service import ports, quotas, transactions

RESOURCE = "floatingips"


@dataclass
class FloatingIPRecord:
    row: FloatingIP
    port: Port | None = None
    tags: list[str] | None = None

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id}


async def visible(s: AsyncSession, ctx: RequestContext, fip_id: str, *, for_update: bool = False) -> FloatingIP:
    row = await q.get_fip(s, fip_id, for_update=for_update)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id):
        raise exc.FloatingIPNotFound(fip_id)
    return row


def _bad(message: str) -> exc.BadRequest:
    return exc.BadRequest(f"Bad floatingip request: {message}.")


async def _association(s: AsyncSession, ctx: RequestContext, fip: FloatingIP, port_id: str,
                       fixed_ip: str | None) -> tuple[str, str]:
    """(fixed_ip_address, router_id) for associating ``fip`` with ``port_id``, or a clear refusal."""
    port, _info = await ports.visible(s, ctx, port_id)
    if not ctx.is_admin and port.project_id != fip.project_id:
        raise exc.PortNotFound(port_id)
    v4 = [a for a in port.fixed_ips if ipaddress.ip_address(a.ip_address).version == 4]
    if fixed_ip is not None:
        chosen = [a for a in port.fixed_ips if a.ip_address == fixed_ip]
        if not chosen:
            raise _bad(f"Port {port_id} does not have fixed ip {fixed_ip}")
    elif not v4:
        raise _bad(f"Port {port_id} does not have any IPv4 address")
    elif len(v4) > 1:
        raise _bad(f"Port {port_id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 "
                   "address when assigning a floating IP")
    else:
        chosen = v4
    alloc = chosen[0]
    if ipaddress.ip_address(alloc.ip_address).version != 4:
        raise _bad(f"Cannot process floating IP association with {alloc.ip_address}, since that is "
                   "not an IPv4 address")
    taken = (await s.execute(select(FloatingIP).where(
        FloatingIP.floating_network_id == fip.floating_network_id, FloatingIP.fixed_port_id == port_id,
        FloatingIP.fixed_ip_address == alloc.ip_address, FloatingIP.id != fip.id))).scalars().first()
    if taken is not None:
        raise exc.FloatingIPPortAlreadyAssociated(fip.floating_ip_address, fip.id, port_id, alloc.ip_address,
                                                  fip.floating_network_id)
    return alloc.ip_address, await _router_for(s, alloc.subnet_id, fip.floating_network_id, port_id)


async def _router_for(s: AsyncSession, subnet_id: str, ext_net_id: str, port_id: str) -> str:
    """A router with an interface on the subnet and its gateway on the external network."""
    candidates = [r for r, _ in await q.routers_on_subnets(s, [subnet_id])]
    if candidates:
        rows = (await s.execute(select(Router.id, Port.network_id).join(Port, Port.id == Router.gw_port_id)
                                .where(Router.id.in_(candidates)))).all()
        for router_id, net_id in sorted(rows):
            if net_id == ext_net_id:
                return router_id
    raise exc.ExternalGatewayForFloatingIPNotFound(subnet_id, ext_net_id, port_id)


async def unused_on_network(s: AsyncSession, network_id: str) -> list[FloatingIP]:
    """The floating IPs of an external network that are associated with nothing (Neutron deletes
    them with the network), locked."""
    return list((await s.execute(select(FloatingIP).where(
        FloatingIP.floating_network_id == network_id, FloatingIP.fixed_port_id.is_(None),
        FloatingIP.router_id.is_(None)).with_for_update())).scalars().all())


async def delete_rows(s: AsyncSession, fip_ids: list[str]) -> None:
    """Delete floating IPs and their tags inside the caller's transaction (not their ports)."""
    for fip_id in fip_ids:
        await tag_q.delete_all(s, RESOURCE, fip_id)
    if fip_ids:
        await s.execute(delete(FloatingIP).where(FloatingIP.id.in_(fip_ids)))


class FloatingIPs:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _records(self, s: AsyncSession, rows: list[FloatingIP]) -> list[FloatingIPRecord]:
        by_id = await q.ports_by_id(s, [r.fixed_port_id for r in rows if r.fixed_port_id])
        tags = await tag_q.of(s, RESOURCE, [r.id for r in rows])
        return [FloatingIPRecord(r, by_id.get(r.fixed_port_id or ""), tags[r.id]) for r in rows]

    async def show(self, ctx: RequestContext, fip_id: str) -> FloatingIPRecord:
        async with self.state.db.reader() as s:
            return (await self._records(s, [await visible(s, ctx, fip_id)]))[0]

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[FloatingIPRecord], bool]:
        stmt = q.fip_select()
        if not ctx.is_admin:
            stmt = stmt.where(FloatingIP.project_id == ctx.project_id)
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, FloatingIP, q.FIP_FILTERS, query, RESOURCE,
                                            not_found=exc.FloatingIPNotFound)
            return await self._records(s, rows), more

    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str) -> FloatingIPRecord:
        from nubes.network.service.routers import _external_network

        async def tx(s: AsyncSession) -> tuple[str, str]:
            net_id = values["floating_network_id"]
            try:
                await _external_network(s, net_id)
            except exc.BadRequest:
                raise _bad(f"Network {net_id} is not a valid external network") from None
            await quotas.check(s, self.state.conf, project_id, "floatingip")
            fip_id = str(uuid.uuid4())
            wanted: dict[str, Any] = {}
            if values.get("subnet_id"):
                wanted["subnet_id"] = values["subnet_id"]
            if values.get("floating_ip_address"):
                wanted["ip_address"] = values["floating_ip_address"]
            port = await ports.create_internal(s, self.state, network_id=net_id, project_id="",
                                               device_owner=q.FLOATING, device_id=fip_id,
                                               fixed_ips=[wanted] if wanted else None)
            v4 = [a for a in port.fixed_ips if ipaddress.ip_address(a.ip_address).version == 4]
            if not v4:
                raise _bad(f"Network {net_id} has no IPv4 subnet to take a floating IP from")
            row = FloatingIP(id=fip_id, project_id=project_id, floating_ip_address=v4[0].ip_address,
                             floating_network_id=net_id, floating_port_id=port.id,
                             description=values.get("description", ""), status="DOWN")
            s.add(row)
            if values.get("port_id"):
                row.fixed_ip_address, row.router_id = await _association(
                    s, ctx, row, values["port_id"], values.get("fixed_ip_address"))
                row.fixed_port_id = values["port_id"]
            await s.flush()
            return fip_id, port.id

        fip_id, port_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("floatingip", "create", fip_id)
        await self.state.compute_events.ports_changed([values.get("port_id")])
        return await self.show(ctx, fip_id)

    async def update(self, ctx: RequestContext, fip_id: str, values: dict[str, Any],
                     check: Any = None) -> FloatingIPRecord:
        async def tx(s: AsyncSession) -> tuple[str | None, list[str | None]]:
            row = await visible(s, ctx, fip_id, for_update=True)
            if check is not None:
                check(row)
            old_router, old_port, old_ip = row.router_id, row.fixed_port_id, row.fixed_ip_address
            if "description" in values:
                row.description = values["description"]
            if "port_id" in values:
                if values["port_id"] is None:
                    row.fixed_port_id = row.fixed_ip_address = row.router_id = None
                    row.status = "DOWN"
                else:
                    row.fixed_ip_address, row.router_id = await _association(
                        s, ctx, row, values["port_id"], values.get("fixed_ip_address"))
                    row.fixed_port_id = values["port_id"]
            elif "fixed_ip_address" in values and row.fixed_port_id:
                row.fixed_ip_address, row.router_id = await _association(
                    s, ctx, row, row.fixed_port_id, values["fixed_ip_address"])
            transactions.bump(row)
            moved = (old_port, old_ip) != (row.fixed_port_id, row.fixed_ip_address)
            return old_router, [old_port, row.fixed_port_id] if moved else []

        old_router, servers_ports = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("floatingip", "update", fip_id, old_router_id=old_router)
        await self.state.compute_events.ports_changed(servers_ports)
        return await self.show(ctx, fip_id)

    async def delete(self, ctx: RequestContext, fip_id: str, check: Any = None) -> None:
        async def tx(s: AsyncSession) -> tuple[str, str | None, str | None]:
            row = await visible(s, ctx, fip_id, for_update=True)
            if check is not None:
                check(row)
            port_id, router_id, fixed_port = row.floating_port_id, row.router_id, row.fixed_port_id
            await tag_q.delete_all(s, RESOURCE, fip_id)
            await s.delete(row)
            await s.flush()
            await ports.delete_internal(s, port_id)
            return port_id, router_id, fixed_port

        port_id, router_id, fixed_port = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("port", "delete", port_id)
        await self.state.notifier.emit("floatingip", "delete", fip_id, router_id=router_id)
        await self.state.compute_events.ports_changed([fixed_port])

    async def set_status(self, fip_id: str, status: str) -> bool:
        """The L3 agent reports whether it has applied the floating IP (ACTIVE) or not (DOWN/ERROR)."""
        async def tx(s: AsyncSession) -> bool:
            row = await q.get_fip(s, fip_id, for_update=True)
            if row is None:
                return False
            if row.status != status:
                row.status = status
                transactions.bump(row)
            return True

        return await transactions.write(self.state.db, tx)
