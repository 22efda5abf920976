"""Port rows: visibility, list filters (fixed IPs, security groups, binding host), eager loading,
and the lookups port writes need (MACs in use, routers and floating IPs that own a port)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import (
    AllowedAddressPair,
    ExtraDhcpOpt,
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
)
from nubes.network.db.queries.listing import Filter, col, custom

FIXED_IP_KEYS = ("ip_address", "subnet_id", "ip_address_substr")


def visible_to(project_id: str | None) -> ColumnElement:
    """A project sees its own ports and every port on the networks it owns."""
    if not project_id:
        return false()
    return or_(Port.project_id == project_id,
               exists().where(Network.id == Port.network_id, Network.project_id == project_id))


def split_fixed_ip_filters(values: Iterable[str]) -> dict[str, list[str]]:
    """``fixed_ips=ip_address=10.0.0.5`` values grouped by key (the API checked their form)."""
    out: dict[str, list[str]] = {}
    for value in values:
        key, _, val = value.partition("=")
        if key in FIXED_IP_KEYS:
            out.setdefault(key, []).append(val)
    return out


def _fixed_ips(values: list[str]) -> ColumnElement:
    groups = split_fixed_ip_filters(values)
    conds: list[ColumnElement] = []
    if "ip_address" in groups:
        conds.append(exists().where(IPAllocation.port_id == Port.id,
                                    IPAllocation.ip_address.in_(groups["ip_address"])))
    if "subnet_id" in groups:
        conds.append(exists().where(IPAllocation.port_id == Port.id,
                                    IPAllocation.subnet_id.in_(groups["subnet_id"])))
    for substr in groups.get("ip_address_substr", []):
        conds.append(exists().where(IPAllocation.port_id == Port.id,
                                    IPAllocation.ip_address.contains(substr, autoescape=True)))
    return and_(*conds) if conds else true()


def _security_groups(values: list[str]) -> ColumnElement:
    return exists().where(PortSecurityGroup.port_id == Port.id,
                          PortSecurityGroup.security_group_id.in_(values))


def _mac(values: list[str]) -> ColumnElement:
    return func.lower(Port.mac_address).in_([v.replace("-", ":").lower() for v in values])


FILTERS: dict[str, Filter] = {
    "id": col(Port.id), "name": col(Port.name), "description": col(Port.description),
    "tenant_id": col(Port.project_id), "project_id": col(Port.project_id),
    "network_id": col(Port.network_id), "mac_address": custom(_mac),
    "admin_state_up": col(Port.admin_state_up, "bool"), "status": col(Port.status),
    "device_id": col(Port.device_id), "device_owner": col(Port.device_owner),
    "port_security_enabled": col(Port.port_security_enabled, "bool"),
    "binding:host_id": col(Port.binding_host_id), "binding:vnic_type": col(Port.binding_vnic_type),
    "binding:vif_type": col(Port.binding_vif_type),
    "revision_number": col(Port.revision_number, "int"),
    "created_at": col(Port.created_at), "updated_at": col(Port.updated_at),
    "fixed_ips": custom(_fixed_ips, "raw"), "security_groups": custom(_security_groups),
}


def columns_select() -> Any:
    """The port table's columns only (lists load the children in bulk with ``children``)."""
    return select(*Port.__table__.c)


async def children(s: AsyncSession, port_ids: list[str], network_ids: Iterable[str]) -> dict[str, dict[str, list[Any]]]:
    """Fixed IPs, address pairs, DHCP options and security groups of many ports, as plain rows.

    A long page is read by network (a superset, filtered here) rather than with thousands of
    bound ids, which SQLAlchemy would expand and SQLite would parse on every list.
    """
    out: dict[str, dict[str, list[Any]]] = {
        pid: {"fixed_ips": [], "allowed_address_pairs": [], "extra_dhcp_opts": [], "security_groups": []}
        for pid in port_ids}
    if not port_ids:
        return out
    tables = (("fixed_ips", IPAllocation, IPAllocation.position),
              ("allowed_address_pairs", AllowedAddressPair, AllowedAddressPair.position),
              ("extra_dhcp_opts", ExtraDhcpOpt, ExtraDhcpOpt.opt_name),
              ("security_groups", PortSecurityGroup, PortSecurityGroup.security_group_id))
    if len(port_ids) <= 500:
        wheres = [lambda model: model.port_id.in_(port_ids)]
    else:
        nets = list(network_ids)
        wheres = [lambda model: model.port_id.in_(select(Port.id).where(Port.network_id.in_(nets)))]
    for name, model, order in tables:
        for where in wheres:
            rows = await s.execute(select(*model.__table__.c).where(where(model)).order_by(order))
            for row in rows.all():
                entry = out.get(row.port_id)
                if entry is not None:
                    entry[name].append(row)
    return out


def base_select() -> Any:
    return select(Port).options(selectinload(Port.fixed_ips), selectinload(Port.allowed_address_pairs),
                                selectinload(Port.extra_dhcp_opts), selectinload(Port.security_groups))


async def get(s: AsyncSession, port_id: str, *, for_update: bool = False) -> Port | None:
    stmt = base_select().where(Port.id == port_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def macs_taken(s: AsyncSession, network_id: str, macs: list[str]) -> set[str]:
    rows = await s.execute(select(Port.mac_address).where(Port.network_id == network_id,
                                                          Port.mac_address.in_(macs)))
    return {m.lower() for m, in rows.all()}


async def mac_in_use(s: AsyncSession, network_id: str, mac: str, *, except_port: str | None = None) -> bool:
    stmt = select(Port.id).where(Port.network_id == network_id, func.lower(Port.mac_address) == mac.lower())
    if except_port:
        stmt = stmt.where(Port.id != except_port)
    return (await s.execute(stmt.limit(1))).first() is not None


async def router_project(s: AsyncSession, router_id: str) -> str | None:
    return (await s.execute(select(Router.project_id).where(Router.id == router_id))).scalar_one_or_none()


async def floating_ip_exists(s: AsyncSession, fip_id: str) -> bool:
    return (await s.execute(select(FloatingIP.id).where(FloatingIP.id == fip_id))).first() is not None


async def disassociate_floating_ips(s: AsyncSession, port_ids: list[str]) -> None:
    """Floating IPs pointing at ports about to go lose their association (as Neutron's L3 does)."""
    if port_ids:
        await s.execute(update(FloatingIP).where(FloatingIP.fixed_port_id.in_(port_ids)).values(
            fixed_port_id=None, fixed_ip_address=None, router_id=None))


async def ids_with_groups(s: AsyncSession, port_id: str) -> list[str]:
    rows = await s.execute(select(PortSecurityGroup.security_group_id)
                           .where(PortSecurityGroup.port_id == port_id))
    return [g for g, in rows.all()]
