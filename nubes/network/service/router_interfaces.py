"""Router interfaces: attach a router to a subnet (by subnet, taking its gateway IP, or by port)
and detach it again; a subnet can be on a router once, and attached subnets may not overlap."""

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


async def _by_subnet(s: AsyncSession, state: Any, ctx: RequestContext, router: Router, subnet_id: str) -> Port:
    from nubes.network.service.subnets import visible as subnet_visible

    subnet, _net = await subnet_visible(s, ctx, subnet_id)
    if not subnet.gateway_ip:
        raise _bad(f"Subnet {subnet_id} does not have a gateway IP")
    await _check_overlap(s, router, [subnet_id])
    return await ports.create_internal(
        s, state, network_id=subnet.network_id, project_id=router.project_id, device_owner=q.INTERFACE,
        device_id=router.id, fixed_ips=[{"subnet_id": subnet_id, "ip_address": subnet.gateway_ip}])


async def _by_port(s: AsyncSession, ctx: RequestContext, router: Router, port_id: str) -> Port:
    port, _net = await ports.visible(s, ctx, port_id, for_update=True)
    if port.device_id or port.device_owner:
        raise exc.PortInUse(port_id, port.network_id, port.device_id or port.device_owner)
    if not port.fixed_ips:
        raise _bad("Router port must have at least one fixed IP")
    await _check_overlap(s, router, [a.subnet_id for a in port.fixed_ips])
    port.device_owner, port.device_id = q.INTERFACE, router.id
    transactions.bump(port)
    return port


async def add(state: Any, ctx: RequestContext, router_id: str, body: dict[str, Any],
              check: Any = None) -> InterfaceInfo:
    if ("subnet_id" in body) == ("port_id" in body):
        raise _bad("Either subnet_id or port_id must be specified")

    async def tx(s: AsyncSession) -> str:
        router = await visible(s, ctx, router_id, for_update=True)
        if check is not None:
            check(router)
        if "subnet_id" in body:
            port = await _by_subnet(s, state, ctx, router, body["subnet_id"])
        else:
            port = await _by_port(s, ctx, router, body["port_id"])
        router.ports.append(RouterPort(port_id=port.id, port_type=q.INTERFACE))
        transactions.bump(router)
        return port.id

    port_id = await transactions.write(state.db, tx)
    info = await _info(state, router_id, port_id)
    await state.notifier.emit("port", "create" if "subnet_id" in body else "update", port_id,
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

    async def tx(s: AsyncSession) -> InterfaceInfo:
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
        await _check_unused(s, router, port)
        info = InterfaceInfo(router, port)
        _ = info.subnet_ids  # read while the rows are loaded
        router.ports = [p for p in router.ports if p.port_id != port_id]
        await s.flush()
        await ports.delete_internal(s, port_id)
        transactions.bump(router)
        return info

    info = await transactions.write(state.db, tx)
    await state.notifier.emit("port", "delete", info.port.id, network_id=info.port.network_id)
    await state.notifier.emit("router", "update", router_id)
    return info


async def _check_unused(s: AsyncSession, router: Router, port: Port) -> None:
    """Refuse to detach a subnet that floating IPs or static routes of the router still need."""
    from sqlalchemy import select

    subnets = await q.subnets(s, [a.subnet_id for a in port.fixed_ips])
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

