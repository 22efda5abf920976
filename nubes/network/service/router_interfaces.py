"""Router interfaces: attach a router to a subnet (by subnet, taking its gateway IP, or by port)
and detach it again; a subnet can be on a router once, and attached subnets may not overlap.

As in Neutron, the IPv6 subnets of one network attached by subnet share one router port (each
adds its gateway address to the port that already has an IPv6 address there), while every IPv4
subnet gets a port of its own; detaching one of several subnets of a port takes only its address
off the port.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network import exceptions as exc
from nubes.network.db.models import IPAllocation, Port, Router, RouterPort
from nubes.network.db.queries import routers as q
from nubes.network.service import addresses, ports, transactions
from nubes.network.service.routers import InterfaceInfo, visible


def _bad(message: str) -> exc.BadRequest:
    return exc.BadRequest(f"Bad router request: {message}.")


async def _check_overlap(s: AsyncSession, router: Router, new_subnet_ids: list[str]) -> None:
    attached = await q.interface_subnets(s, router.id)
    rows = await q.subnets(s, [*attached, *new_subnet_ids])
    for new_id in new_subnet_ids:
        new = rows[new_id]
        if new_id in attached:
            raise _bad(f"Router already has a port on subnet {new_id}")
        for old_id in attached:
            old = rows[old_id]
            if addresses.cidrs_overlap(old.cidr, new.cidr):
                raise _bad(f"Cidr {new.cidr} of subnet {new_id} overlaps with cidr {old.cidr} of subnet {old_id}")


def _fixed(port: Port) -> list[dict[str, str]]:
    return [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in port.fixed_ips]


async def _ipv6_port(s: AsyncSession, router: Router, network_id: str) -> Port | None:
    """The router's interface port on the network that already has an IPv6 address, if any."""
    ids = [p.port_id for p in router.ports if p.port_type == q.INTERFACE]
    for port in sorted((await q.ports_by_id(s, ids)).values(), key=lambda p: p.id):
        if port.network_id == network_id and any(":" in a.ip_address for a in port.fixed_ips):
            return port
    return None


async def _by_subnet(s: AsyncSession, state: Any, ctx: RequestContext, router: Router,
                     subnet_id: str) -> tuple[Port, bool]:
    """The interface port that now holds the subnet's gateway address, and whether it is new."""
    from nubes.network.service.subnets import visible as subnet_visible

    subnet, _net = await subnet_visible(s, ctx, subnet_id)
    if not subnet.gateway_ip:
        raise _bad(f"Subnet {subnet_id} does not have a gateway IP")
    await _check_overlap(s, router, [subnet_id])
    wanted = {"subnet_id": subnet_id, "ip_address": subnet.gateway_ip}
    if subnet.ip_version == 6:
        shared = await _ipv6_port(s, router, subnet.network_id)
        if shared is not None:
            await state.ports._change_addresses(s, shared, [*_fixed(shared), wanted], q.INTERFACE)
            transactions.bump(shared)
            return shared, False
    return await ports.create_internal(
        s, state, network_id=subnet.network_id, project_id=router.project_id, device_owner=q.INTERFACE,
        device_id=router.id, fixed_ips=[wanted]), True


async def _by_port(s: AsyncSession, ctx: RequestContext, router: Router, port_id: str) -> Port:
    port, _net = await ports.visible(s, ctx, port_id, for_update=True)
    if port.device_id or port.device_owner:
        raise exc.PortInUse(port_id, port.network_id, port.device_id or port.device_owner)
    if not port.fixed_ips:
        raise _bad("Router port must have at least one fixed IP")
    if any(":" in a.ip_address for a in port.fixed_ips):     # checked first, as Neutron does
        existing = await _ipv6_port(s, router, port.network_id)
        if existing is not None:
            raise _bad(f"Cannot have multiple router ports with the same network id if both contain IPv6 "
                       f"subnets. Existing port {existing.id} has IPv6 subnet(s) and network id {port.network_id}")
    await _check_overlap(s, router, [a.subnet_id for a in port.fixed_ips])
    port.device_owner, port.device_id = q.INTERFACE, router.id
    transactions.bump(port)
    return port


async def add(state: Any, ctx: RequestContext, router_id: str, body: dict[str, Any],
              check: Any = None) -> InterfaceInfo:
    if ("subnet_id" in body) == ("port_id" in body):
        raise _bad("Either subnet_id or port_id must be specified")

    async def tx(s: AsyncSession) -> tuple[str, bool]:
        router = await visible(s, ctx, router_id, for_update=True)
        if check is not None:
            check(router)
        if "subnet_id" in body:
            port, new = await _by_subnet(s, state, ctx, router, body["subnet_id"])
        else:
            port, new = await _by_port(s, ctx, router, body["port_id"]), False
        if all(p.port_id != port.id for p in router.ports):
            router.ports.append(RouterPort(port_id=port.id, port_type=q.INTERFACE))
        transactions.bump(router)
        return port.id, new

    port_id, created = await transactions.write(state.db, tx)
    info = await _info(state, router_id, port_id)
    info.subnet_id = body.get("subnet_id")
    await state.notifier.emit("port", "create" if created else "update", port_id,
                              network_id=info.port.network_id)
    await state.notifier.emit("router", "update", router_id)
    return info


async def _info(state: Any, router_id: str, port_id: str) -> InterfaceInfo:
    async with state.db.reader() as s:
        router = await q.get_router(s, router_id)
        port = (await q.ports_by_id(s, [port_id]))[port_id]
    return InterfaceInfo(router, port)


async def remove(state: Any, ctx: RequestContext, router_id: str, body: dict[str, Any],
                 check: Any = None) -> InterfaceInfo:
    if "subnet_id" not in body and "port_id" not in body:
        raise _bad("Either subnet_id or port_id must be specified")

    async def tx(s: AsyncSession) -> tuple[InterfaceInfo, bool]:
        router = await visible(s, ctx, router_id, for_update=True)
        if check is not None:
            check(router)
        attached = await q.interface_subnets(s, router_id)
        if "port_id" in body:
            port_id = body["port_id"]
            if port_id not in {p.port_id for p in router.ports if p.port_type == q.INTERFACE}:
                raise exc.RouterInterfaceNotFound(router_id, f"id {port_id}")
            if "subnet_id" in body and attached.get(body["subnet_id"], ("",))[0] != port_id:
                raise exc.BadRequest(f"Subnet {body['subnet_id']} is not on port {port_id}")
        else:
            if body["subnet_id"] not in attached:
                raise exc.NotFound(f"Router {router_id} has no interface on subnet {body['subnet_id']}")
            port_id = attached[body["subnet_id"]][0]
        port = (await q.ports_by_id(s, [port_id]))[port_id]
        subnet_id = body.get("subnet_id")
        if "port_id" not in body and len({a.subnet_id for a in port.fixed_ips}) > 1:
            # one of several subnets of a (shared IPv6) port: only its address goes
            await _check_unused(s, router, port, only=subnet_id)
            info = InterfaceInfo(router, port, subnet_id=subnet_id, detached=[subnet_id])
            await state.ports._change_addresses(s, port, [f for f in _fixed(port) if f["subnet_id"] != subnet_id],
                                                q.INTERFACE)
            transactions.bump(port)
            transactions.bump(router)
            return info, False
        await _check_unused(s, router, port)
        info = InterfaceInfo(router, port, subnet_id=subnet_id)
        _ = info.subnet_ids  # read while the rows are loaded
        router.ports = [p for p in router.ports if p.port_id != port_id]
        await s.flush()
        await ports.delete_internal(s, port_id)
        transactions.bump(router)
        return info, True

    info, deleted = await transactions.write(state.db, tx)
    await state.notifier.emit("port", "delete" if deleted else "update", info.port.id,
                              network_id=info.port.network_id)
    await state.notifier.emit("router", "update", router_id)
    return info


async def _check_unused(s: AsyncSession, router: Router, port: Port, only: str | None = None) -> None:
    """Refuse to detach a subnet (the port's, or ``only``) that floating IPs or static routes of
    the router still need."""
    from sqlalchemy import select

    subnets = await q.subnets(s, [only] if only else [a.subnet_id for a in port.fixed_ips])
    for fip in await q.fips_through_router(s, router.id):
        if fip.fixed_ip_address is None:
            continue
        held = (await s.execute(select(IPAllocation.subnet_id).where(
            IPAllocation.port_id == fip.fixed_port_id,
            IPAllocation.ip_address == fip.fixed_ip_address))).scalar_one_or_none()
        if held in subnets:
            raise exc.RouterInterfaceInUseByFloatingIP(router.id, held)
    for route in router.routes:
        for sid, sn in subnets.items():
            if addresses.ip_in_subnet(sn.cidr, route.nexthop):
                raise exc.RouterInterfaceInUseByRoute(router.id, sid)

