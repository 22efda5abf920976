"""Router and floating IP rows: visibility, list filters, the ports and subnets a router is attached to."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import FloatingIP, IPAllocation, Port, Router, RouterPort, Subnet
from nubes.network.db.queries.listing import Filter, col, custom

GATEWAY = "network:router_gateway"
INTERFACE = "network:router_interface"
FLOATING = "network:floatingip"


def _gateway_network(values: list[str]) -> ColumnElement:
    return exists().where(Port.id == Router.gw_port_id, Port.network_id.in_(values))


ROUTER_FILTERS: dict[str, Filter] = {
    "id": col(Router.id), "name": col(Router.name), "description": col(Router.description),
    "tenant_id": col(Router.project_id), "project_id": col(Router.project_id),
    "status": col(Router.status), "admin_state_up": col(Router.admin_state_up, "bool"),
    "revision_number": col(Router.revision_number, "int"),
    "created_at": col(Router.created_at), "updated_at": col(Router.updated_at),
    "external_gateway_info": custom(lambda _v: Router.id.isnot(None), "raw"),
    "external_gateway_info:network_id": custom(_gateway_network),
    "enable_snat": col(Router.enable_snat, "bool"),
    "routes": custom(lambda _v: Router.id.isnot(None), "raw"),
    "availability_zone_hints": custom(lambda _v: Router.id.isnot(None), "raw"),
    "availability_zones": custom(lambda _v: Router.id.isnot(None), "raw"),
}

FIP_FILTERS: dict[str, Filter] = {
    "id": col(FloatingIP.id), "description": col(FloatingIP.description),
    "tenant_id": col(FloatingIP.project_id), "project_id": col(FloatingIP.project_id),
    "status": col(FloatingIP.status), "revision_number": col(FloatingIP.revision_number, "int"),
    "created_at": col(FloatingIP.created_at), "updated_at": col(FloatingIP.updated_at),
    "floating_ip_address": col(FloatingIP.floating_ip_address),
    "floating_network_id": col(FloatingIP.floating_network_id),
    "router_id": col(FloatingIP.router_id), "port_id": col(FloatingIP.fixed_port_id),
    "fixed_ip_address": col(FloatingIP.fixed_ip_address),
    "port_details": custom(lambda _v: FloatingIP.id.isnot(None), "raw"),
}


def router_select() -> Any:
    return select(Router).options(selectinload(Router.routes), selectinload(Router.ports))


async def get_router(s: AsyncSession, router_id: str, *, for_update: bool = False) -> Router | None:
    stmt = router_select().where(Router.id == router_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def ports_by_id(s: AsyncSession, ids: Iterable[str]) -> dict[str, Port]:
    ids = list(ids)
    if not ids:
        return {}
    rows = await s.execute(select(Port).options(selectinload(Port.fixed_ips)).where(Port.id.in_(ids)))
    return {p.id: p for p in rows.scalars().all()}


async def interface_subnets(s: AsyncSession, router_id: str) -> dict[str, tuple[str, str]]:
    """subnet_id -> (port_id, ip) of the router's interfaces."""
    rows = await s.execute(
        select(IPAllocation.subnet_id, IPAllocation.port_id, IPAllocation.ip_address)
        .join(RouterPort, RouterPort.port_id == IPAllocation.port_id)
        .where(RouterPort.router_id == router_id, RouterPort.port_type == INTERFACE))
    return {sid: (pid, ip) for sid, pid, ip in rows.all()}


async def subnets(s: AsyncSession, ids: Iterable[str]) -> dict[str, Subnet]:
    ids = list(ids)
    if not ids:
        return {}
    rows = await s.execute(select(Subnet).where(Subnet.id.in_(ids)))
    return {r.id: r for r in rows.scalars().all()}


async def routers_on_subnets(s: AsyncSession, subnet_ids: Iterable[str]) -> list[tuple[str, str]]:
    """(router_id, subnet_id) for every router with an interface on one of the subnets."""
    rows = await s.execute(
        select(RouterPort.router_id, IPAllocation.subnet_id)
        .join(IPAllocation, IPAllocation.port_id == RouterPort.port_id)
        .where(RouterPort.port_type == INTERFACE, IPAllocation.subnet_id.in_(list(subnet_ids))))
    return [(r, sid) for r, sid in rows.all()]


async def fips_through_router(s: AsyncSession, router_id: str) -> list[FloatingIP]:
    rows = await s.execute(select(FloatingIP).where(FloatingIP.router_id == router_id))
    return list(rows.scalars().all())


def fip_select() -> Any:
    return select(FloatingIP)


async def get_fip(s: AsyncSession, fip_id: str, *, for_update: bool = False) -> FloatingIP | None:
    stmt = select(FloatingIP).where(FloatingIP.id == fip_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()
