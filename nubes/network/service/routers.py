"""Routers: an external gateway (with SNAT), interfaces on subnets, static routes.

The ports a router owns are made with ``ports.create_internal`` inside the router's own
transaction: an interface port holds the subnet's gateway IP (device_owner
``network:router_interface``), the gateway port an address on the external network
(``network:router_gateway``, no project, as Neutron). Removing an interface or the gateway
deletes its port; a router with interfaces cannot be deleted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network import exceptions as exc
from nubes.network.db.models import Port, Router, RouterPort, RouterRoute
from nubes.network.db.queries import listing
from nubes.network.db.queries import routers as q
from nubes.network.db.queries import tags as tag_q
from nubes.network.service import addresses, ports, quotas, transactions

RESOURCE = "routers"


@dataclass
class RouterRecord:
    row: Router
    gateway_port: Port | None = None
    tags: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)

    def policy_target(self) -> dict[str, Any]:
        return {"project_id": self.row.project_id, "tenant_id": self.row.project_id}


@dataclass
class InterfaceInfo:
    router: Router
    port: Port
    subnet_id: str | None = None          # the subnet the call named (added or taken off the port)
    detached: list[str] | None = None     # subnets taken off a port that stays (a shared IPv6 port)

    @property
    def subnet_ids(self) -> list[str]:
        if self.detached is not None:
            return list(self.detached)
        return [a.subnet_id for a in self.port.fixed_ips]


async def visible(s: AsyncSession, ctx: RequestContext, router_id: str, *, for_update: bool = False) -> Router:
    row = await q.get_router(s, router_id, for_update=for_update)
    if row is None or not (ctx.is_admin or row.project_id == ctx.project_id):
        raise exc.RouterNotFound(router_id)
    return row


def _bad(message: str) -> exc.BadRequest:
    return exc.BadRequest(f"Bad router request: {message}.")


async def _external_network(s: AsyncSession, network_id: str) -> Any:
    from nubes.network.db.queries import networks as net_q
    from nubes.network.service.networks import is_external

    net = await net_q.get(s, network_id)
    if net is None:
        raise exc.NetworkNotFound(network_id)
    if not is_external(net):
        raise _bad(f"Network {network_id} is not a valid external network")
    return net


class Routers:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _records(self, s: AsyncSession, rows: list[Router]) -> list[RouterRecord]:
        from nubes.network.service import agents

        gw = await q.ports_by_id(s, [r.gw_port_id for r in rows if r.gw_port_id])
        tags = await tag_q.of(s, RESOURCE, [r.id for r in rows])
        zones = await agents.zones(s, self.state.conf, "l3")
        return [RouterRecord(r, gw.get(r.gw_port_id or ""), tags[r.id], zones) for r in rows]

    async def show(self, ctx: RequestContext, router_id: str) -> RouterRecord:
        async with self.state.db.reader() as s:
            return (await self._records(s, [await visible(s, ctx, router_id)]))[0]

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[RouterRecord], bool]:
        stmt = q.router_select()
        if not ctx.is_admin:
            stmt = stmt.where(Router.project_id == ctx.project_id)
        async with self.state.db.reader() as s:
            rows, more = await listing.page(s, stmt, Router, q.ROUTER_FILTERS, query, RESOURCE,
                                            not_found=exc.RouterNotFound)
            return await self._records(s, rows), more

    # -- gateway ----------------------------------------------------------------------------
    async def _set_gateway(self, s: AsyncSession, row: Router, info: dict[str, Any] | None) -> list[str]:
        """Apply external_gateway_info; returns the ids of ports it removed."""
        removed: list[str] = []
        current = await q.ports_by_id(s, [row.gw_port_id]) if row.gw_port_id else {}
        gw_port = current.get(row.gw_port_id or "")
        wanted_net = (info or {}).get("network_id")
        if gw_port is not None and (info is None or wanted_net != gw_port.network_id
                                    or "external_fixed_ips" in info):
            if any(f.floating_network_id == gw_port.network_id
                   for f in await q.fips_through_router(s, row.id)):
                raise exc.RouterExternalGatewayInUseByFloatingIp(row.id, gw_port.network_id)
            row.ports = [p for p in row.ports if p.port_id != gw_port.id]
            row.gw_port_id = None
            await s.flush()
            await ports.delete_internal(s, gw_port.id)
            removed.append(gw_port.id)
            gw_port = None
        if info is not None:
            if "enable_snat" in info:
                row.enable_snat = bool(info["enable_snat"])
            if gw_port is None and wanted_net:
                await _external_network(s, wanted_net)
                port = await ports.create_internal(
                    s, self.state, network_id=wanted_net, project_id="", device_owner=q.GATEWAY,
                    device_id=row.id, fixed_ips=info.get("external_fixed_ips") or None)
                if not port.fixed_ips:
                    raise _bad(f"Network {wanted_net} has no subnet to take a gateway address from")
                row.gw_port_id = port.id
                row.ports.append(RouterPort(port_id=port.id, port_type=q.GATEWAY))
        elif row.gw_port_id is None:
            row.enable_snat = True
        return removed

    # -- create / update / delete -----------------------------------------------------------
    async def create(self, ctx: RequestContext, values: dict[str, Any], project_id: str) -> RouterRecord:
        async def tx(s: AsyncSession) -> str:
            await quotas.check(s, self.state.conf, project_id, "router")
            row = Router(id=str(uuid.uuid4()), project_id=project_id, name=values.get("name", ""),
                         description=values.get("description", ""),
                         admin_state_up=values.get("admin_state_up", True),
                         availability_zone_hints=values.get("availability_zone_hints") or [],
                         routes=[], ports=[])
            s.add(row)
            await s.flush()
            if values.get("external_gateway_info"):
                await self._set_gateway(s, row, values["external_gateway_info"])
            return row.id

        router_id = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("router", "create", router_id)
        return await self.show(ctx, router_id)

    async def update(self, ctx: RequestContext, router_id: str, values: dict[str, Any],
                     check: Any = None) -> RouterRecord:
        async def tx(s: AsyncSession) -> list[str]:
            row = await visible(s, ctx, router_id, for_update=True)
            if check is not None:
                check(row)
            removed: list[str] = []
            for key in ("name", "description", "admin_state_up"):
                if key in values:
                    setattr(row, key, values[key])
            if "external_gateway_info" in values:
                removed = await self._set_gateway(s, row, values["external_gateway_info"] or None)
            if "routes" in values:
                await self._set_routes(s, row, values["routes"])
            transactions.bump(row)
            return removed

        removed = await transactions.write(self.state.db, tx)
        for port_id in removed:
            await self.state.notifier.emit("port", "delete", port_id)
        await self.state.notifier.emit("router", "update", router_id)
        return await self.show(ctx, router_id)

    async def _connected(self, s: AsyncSession, row: Router) -> list[str]:
        """CIDRs of every subnet the router has an address on (interfaces and gateway)."""
        port_ids = [p.port_id for p in row.ports]
        by_id = await q.ports_by_id(s, port_ids)
        subnet_ids = {a.subnet_id for p in by_id.values() for a in p.fixed_ips}
        return [sn.cidr for sn in (await q.subnets(s, subnet_ids)).values()]

    async def _set_routes(self, s: AsyncSession, row: Router, routes: list[dict[str, str]]) -> None:
        unique = list({(r["destination"], r["nexthop"]): r for r in routes}.values())
        if len(unique) > self.state.conf.max_routes:
            raise exc.RoutesExhausted(row.id, self.state.conf.max_routes)
        connected = await self._connected(s, row)
        for r in unique:
            if not any(addresses.ip_in_subnet(c, r["nexthop"]) for c in connected):
                raise exc.InvalidRoutes(routes, "the nexthop is not connected with router")
        row.routes = [RouterRoute(destination=r["destination"], nexthop=r["nexthop"], position=i)
                      for i, r in enumerate(unique)]

    async def change_routes(self, ctx: RequestContext, router_id: str, routes: list[dict[str, str]],
                            add: bool, check: Any = None) -> RouterRecord:
        """extraroute-atomic: add or remove some routes without rewriting the rest."""
        async def tx(s: AsyncSession) -> None:
            row = await visible(s, ctx, router_id, for_update=True)
            if check is not None:
                check(row)
            current = [{"destination": r.destination, "nexthop": r.nexthop} for r in row.routes]
            if add:
                await self._set_routes(s, row, current + routes)
            else:
                drop = {(r["destination"], r["nexthop"]) for r in routes}
                await self._set_routes(s, row, [r for r in current
                                                if (r["destination"], r["nexthop"]) not in drop])
            transactions.bump(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("router", "update", router_id)
        return await self.show(ctx, router_id)

    async def delete(self, ctx: RequestContext, router_id: str, check: Any = None) -> None:
        async def tx(s: AsyncSession) -> list[str]:
            row = await visible(s, ctx, router_id, for_update=True)
            if check is not None:
                check(row)
            if any(p.port_type != q.GATEWAY for p in row.ports):
                raise exc.RouterInUse(router_id)
            if await q.fips_through_router(s, router_id):
                raise exc.RouterInUse(router_id, "still has floating IPs associated through it")
            removed = await self._set_gateway(s, row, None)
            await tag_q.delete_all(s, RESOURCE, router_id)
            await s.delete(row)
            return removed

        removed = await transactions.write(self.state.db, tx)
        for port_id in removed:
            await self.state.notifier.emit("port", "delete", port_id)
        await self.state.notifier.emit("router", "delete", router_id)
