"""What a host's data-plane agents must make real, in one answer they can resync from.

An agent calls ``network.server`` ``get_host_state`` with its host name after a start or a
missed event, and applies the difference (agents are reconcilers). The answer holds:

- ``ports``: ports bound to the host (``binding:host_id``) with their MAC, fixed IPs, allowed
  address pairs, port security and security groups;
- ``networks`` and ``subnets`` those ports (and the host's DHCP and router work) need;
- ``security_groups`` with their rules, and ``remote_group_members``: the addresses of every
  port in each group used as a remote group (what the rules' named sets hold);
- ``dhcp``: for a host running a DHCP agent, every network with a DHCP-enabled subnet and all
  its ports (the static leases);
- ``routers``: for a host running an L3 agent, the routers scheduled to it (a router with no
  live agent is given to the least-loaded live one) with gateway, interfaces, routes, SNAT
  and floating IPs;
- ``tunnel_peers``: the VXLAN endpoints of the other hosts' L2 agents.

Agents report back with ``update_port_status`` and ``update_floatingip_status``. Two more calls
serve the DHCP and metadata agents: ``get_dhcp_port`` (the host's DHCP port on a network, made
once and kept bound to the host with an address on each DHCP-enabled subnet) and ``find_port``
(the port behind a source address, for the metadata proxy).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import (
    Agent,
    FloatingIP,
    IPAllocation,
    Network,
    Port,
    PortSecurityGroup,
    Router,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
)
from nubes.network.service import transactions

L2, DHCP, L3 = "Linux bridge agent", "DHCP agent", "L3 agent"
DHCP_OWNER = "network:dhcp"


def dhcp_device_id(host: str, network_id: str) -> str:
    """Neutron's device id of a host's DHCP port: ``dhcp<uuid5(host)>-<network id>``."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, host)}-{network_id}"


def _port(p: Port) -> dict[str, Any]:
    return {"id": p.id, "network_id": p.network_id, "mac_address": p.mac_address,
            "admin_state_up": p.admin_state_up, "status": p.status, "device_id": p.device_id,
            "device_owner": p.device_owner, "port_security_enabled": p.port_security_enabled,
            "host": p.binding_host_id, "project_id": p.project_id,
            "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in p.fixed_ips],
            "allowed_address_pairs": [{"ip_address": a.ip_address, "mac_address": a.mac_address}
                                      for a in p.allowed_address_pairs],
            "extra_dhcp_opts": [{"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version}
                                for o in p.extra_dhcp_opts],
            "security_groups": sorted(g.security_group_id for g in p.security_groups)}


def _network(n: Network, subnet_ids: list[str]) -> dict[str, Any]:
    from nubes.network.service.networks import is_external

    seg = n.segments[0] if n.segments else None
    return {"id": n.id, "name": n.name, "mtu": n.mtu, "admin_state_up": n.admin_state_up,
            "network_type": seg.network_type if seg else None,
            "physical_network": (seg.physical_network or None) if seg else None,
            "segmentation_id": seg.segmentation_id if seg and seg.network_type in ("vlan", "vxlan") else None,
            "external": is_external(n), "subnets": subnet_ids}


def _subnet(s: Subnet) -> dict[str, Any]:
    return {"id": s.id, "network_id": s.network_id, "ip_version": s.ip_version, "cidr": s.cidr,
            "gateway_ip": s.gateway_ip, "enable_dhcp": s.enable_dhcp,
            "ipv6_ra_mode": s.ipv6_ra_mode, "ipv6_address_mode": s.ipv6_address_mode,
            "dns_nameservers": [d.address for d in s.dns_nameservers],
            "host_routes": [{"destination": r.destination, "nexthop": r.nexthop} for r in s.host_routes],
            "allocation_pools": [{"start": p.first_ip, "end": p.last_ip} for p in s.allocation_pools]}


def _rule(r: SecurityGroupRule) -> dict[str, Any]:
    return {"id": r.id, "direction": r.direction, "ethertype": r.ethertype, "protocol": r.protocol,
            "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
            "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id}


def _port_select() -> Any:
    return select(Port).options(selectinload(Port.fixed_ips), selectinload(Port.allowed_address_pairs),
                                selectinload(Port.extra_dhcp_opts), selectinload(Port.security_groups))


class HostState:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def get(self, host: str) -> dict[str, Any]:
        from nubes.network.service.agents import is_alive

        async def tx(s: AsyncSession) -> dict[str, Any]:
            agents = list((await s.execute(select(Agent))).scalars().all())
            kinds = {a.agent_type for a in agents if a.host == host}
            alive_l3 = {a.host: a.availability_zone for a in agents if a.agent_type == L3
                        and a.admin_state_up and is_alive(a, self.state.conf)}
            routers = await self._routers(s, host, alive_l3) if L3 in kinds else []
            out = await self._ports_and_networks(s, host, routers, DHCP in kinds)
            out["routers"] = routers
            out["tunnel_peers"] = sorted(
                {(a.host, ip) for a in agents if a.agent_type == L2 and a.host != host
                 and (ip := (a.configurations or {}).get("tunnel_ip"))})
            out["tunnel_peers"] = [{"host": h, "ip": ip} for h, ip in out["tunnel_peers"]]
            out["host"] = host
            return out

        return await transactions.write(self.state.db, tx)

    async def _ports_and_networks(self, s: AsyncSession, host: str, routers: list[dict[str, Any]],
                                  dhcp: bool) -> dict[str, Any]:
        bound = list((await s.execute(_port_select().where(Port.binding_host_id == host))).scalars().all())
        net_ids = {p.network_id for p in bound}
        net_ids |= {p["network_id"] for r in routers for p in [*r["interfaces"], *filter(None, [r["gateway"]])]}
        dhcp_nets: dict[str, list[dict[str, Any]]] = {}
        if dhcp:
            served = {sid for sid, in (await s.execute(select(Subnet.network_id)
                                                      .where(Subnet.enable_dhcp.is_(True)))).all()}
            net_ids |= served
            ports = (await s.execute(_port_select().where(Port.network_id.in_(served)))).scalars().all()
            for p in ports:
                dhcp_nets.setdefault(p.network_id, []).append(_port(p))
            for nid in served:
                dhcp_nets.setdefault(nid, [])
        networks = (await s.execute(select(Network).options(selectinload(Network.segments),
                                                            selectinload(Network.rbac_entries))
                                    .where(Network.id.in_(net_ids)))).scalars().all()
        subnets = (await s.execute(select(Subnet).options(
            selectinload(Subnet.dns_nameservers), selectinload(Subnet.host_routes),
            selectinload(Subnet.allocation_pools)).where(Subnet.network_id.in_(net_ids)))).scalars().all()
        by_net: dict[str, list[str]] = defaultdict(list)
        for sn in subnets:
            by_net[sn.network_id].append(sn.id)
        groups, members = await self._groups(s, {g.security_group_id for p in bound for g in p.security_groups})
        return {"ports": [_port(p) for p in bound],
                "networks": {n.id: _network(n, by_net[n.id]) for n in networks},
                "subnets": {sn.id: _subnet(sn) for sn in subnets},
                "security_groups": groups, "remote_group_members": members,
                "dhcp": [{"network_id": nid, "ports": ps} for nid, ps in sorted(dhcp_nets.items())]}

    async def _groups(self, s: AsyncSession, ids: set[str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
        rows = (await s.execute(select(SecurityGroup).options(selectinload(SecurityGroup.rules))
                                .where(SecurityGroup.id.in_(ids)))).scalars().all()
        groups = {g.id: {"id": g.id, "stateful": g.stateful, "rules": [_rule(r) for r in g.rules]} for g in rows}
        remote = {r.remote_group_id for g in rows for r in g.rules if r.remote_group_id}
        members: dict[str, list[str]] = {gid: [] for gid in remote}
        if remote:
            found = await s.execute(select(PortSecurityGroup.security_group_id, IPAllocation.ip_address)
                                    .join(IPAllocation, IPAllocation.port_id == PortSecurityGroup.port_id)
                                    .where(PortSecurityGroup.security_group_id.in_(remote)))
            for gid, ip in found.all():
                members[gid].append(ip)
            for gid in members:
                members[gid].sort()
        return groups, members

    async def _routers(self, s: AsyncSession, host: str, alive: dict[str, str | None]) -> list[dict[str, Any]]:
        rows = list((await s.execute(select(Router).options(selectinload(Router.routes),
                                                            selectinload(Router.ports)))).scalars().all())
        load = {h: 0 for h in alive}
        for r in rows:
            if r.agent_host in load:
                load[r.agent_host] += 1
        for r in rows:
            if r.agent_host not in load and load:
                # The least-loaded live agent, in one of the router's hinted zones if it has any.
                hinted = [h for h in load if alive[h] in (r.availability_zone_hints or [])]
                r.agent_host = min(sorted(hinted or load), key=lambda h: load[h])
                load[r.agent_host] += 1
        mine = [r for r in rows if r.agent_host == host]
        port_ids = [p.port_id for r in mine for p in r.ports]
        ports = {p.id: p for p in (await s.execute(_port_select().where(Port.id.in_(port_ids)))).scalars()}
        fips = (await s.execute(select(FloatingIP).where(FloatingIP.router_id.in_([r.id for r in mine]))
                                )).scalars().all()
        by_router: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in fips:
            by_router[f.router_id].append({"id": f.id, "floating_ip_address": f.floating_ip_address,
                                           "fixed_ip_address": f.fixed_ip_address, "port_id": f.fixed_port_id,
                                           "status": f.status})
        return [{"id": r.id, "admin_state_up": r.admin_state_up, "enable_snat": r.enable_snat,
                 "gateway": _port(ports[r.gw_port_id]) if r.gw_port_id in ports else None,
                 "interfaces": [_port(ports[p.port_id]) for p in r.ports
                                if p.port_type != "network:router_gateway" and p.port_id in ports],
                 "routes": [{"destination": x.destination, "nexthop": x.nexthop} for x in r.routes],
                 "floating_ips": by_router[r.id]} for r in mine]


class AgentPorts:
    """The ports the DHCP and metadata agents ask about."""

    def __init__(self, state: Any) -> None:
        self.state = state

    async def dhcp_port(self, host: str, network_id: str) -> dict[str, Any]:
        from nubes.network.exceptions import BadRequest, NetworkNotFound
        from nubes.network.service import port_parts, ports

        device_id = dhcp_device_id(host, network_id)

        async def tx(s: AsyncSession) -> tuple[str, str]:
            network = await s.get(Network, network_id)
            if network is None:
                raise NetworkNotFound(network_id)
            served = [sid for sid, in (await s.execute(select(Subnet.id).where(
                Subnet.network_id == network_id, Subnet.enable_dhcp.is_(True)).order_by(Subnet.id))).all()]
            if not served:
                raise BadRequest(f"Network {network_id} has no subnet with DHCP enabled")
            row = (await s.execute(_port_select().where(Port.network_id == network_id, Port.device_owner == DHCP_OWNER,
                                                        Port.device_id == device_id))).scalars().first()
            if row is None:
                row = await ports.create_internal(s, self.state, network_id=network_id, project_id=network.project_id,
                                                  device_owner=DHCP_OWNER, device_id=device_id,
                                                  fixed_ips=[{"subnet_id": sid} for sid in served],
                                                  binding_host_id=host)
                return row.id, "create"
            have = {a.subnet_id for a in row.fixed_ips}
            action = ""
            if have != set(served):
                keep = [{"subnet_id": a.subnet_id, "ip_address": a.ip_address} for a in row.fixed_ips
                        if a.subnet_id in served]
                await self.state.ports._change_addresses(
                    s, row, keep + [{"subnet_id": sid} for sid in served if sid not in have], DHCP_OWNER)
                action = "update"
            if row.binding_host_id != host:
                row.binding_host_id = host
                port_parts.apply_binding(row)
                action = "update"
            if action:
                transactions.bump(row)
            return row.id, action

        port_id, action = await transactions.write(self.state.db, tx)
        if action:
            await self.state.ports.notify(action, port_id, network_id, host)
        async with self.state.db.reader() as s:
            return _port((await s.execute(_port_select().where(Port.id == port_id))).scalars().one())

    async def find(self, ip: str, network_id: str | None, router_id: str | None) -> dict[str, Any]:
        """The port (not the network's own) holding ``ip`` on the network, or on a network of the router."""
        from nubes.network.db.models import RouterPort
        from nubes.network.exceptions import NotFound

        async with self.state.db.reader() as s:
            if router_id is not None:
                nets = list((await s.execute(select(Port.network_id).join(RouterPort, RouterPort.port_id == Port.id)
                                             .where(RouterPort.router_id == router_id,
                                                    RouterPort.port_type != "network:router_gateway"))).scalars())
            else:
                nets = [network_id]
            rows = (await s.execute(select(Port).join(IPAllocation, IPAllocation.port_id == Port.id).where(
                IPAllocation.ip_address == ip, IPAllocation.network_id.in_(nets)))).scalars().all()
        found = [p for p in rows if not (p.device_owner or "").startswith("network:")]
        if not found:
            raise NotFound(f"No port with address {ip} on {'router ' + router_id if router_id else 'network ' + str(network_id)}")
        p = found[0]
        return {"id": p.id, "device_id": p.device_id, "project_id": p.project_id, "tenant_id": p.project_id,
                "network_id": p.network_id, "device_owner": p.device_owner, "mac_address": p.mac_address}


PORT_STATUSES = ("ACTIVE", "DOWN", "BUILD", "ERROR")
FIP_STATUSES = ("ACTIVE", "DOWN", "ERROR")


def _status(payload: dict, key: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    from nubes.network.exceptions import BadRequest

    ident, status = payload.get(key), payload.get("status")
    if not isinstance(ident, str) or status not in allowed:
        raise BadRequest(f"{key} and a status in {list(allowed)} are required")
    return ident, status


def rpc_handlers(state: Any) -> dict[str, Any]:
    async def get_host_state(payload: dict) -> dict[str, Any]:
        host = payload.get("host")
        if not isinstance(host, str) or not host:
            from nubes.network.exceptions import BadRequest

            raise BadRequest("get_host_state needs a host")
        return await state.host_state.get(host)

    async def update_port_status(payload: dict) -> dict[str, Any]:
        port_id, status = _status(payload, "port_id", PORT_STATUSES)
        return {"found": await state.ports.set_status(port_id, status)}

    async def update_floatingip_status(payload: dict) -> dict[str, Any]:
        fip_id, status = _status(payload, "floatingip_id", FIP_STATUSES)
        return {"found": await state.floatingips.set_status(fip_id, status)}

    agent_ports = AgentPorts(state)

    async def get_dhcp_port(payload: dict) -> dict[str, Any]:
        from nubes.network.exceptions import BadRequest

        host, network_id = payload.get("host"), payload.get("network_id")
        if not isinstance(host, str) or not host or not isinstance(network_id, str) or not network_id:
            raise BadRequest("get_dhcp_port needs a host and a network_id")
        return await agent_ports.dhcp_port(host, network_id)

    async def find_port(payload: dict) -> dict[str, Any]:
        from nubes.network.exceptions import BadRequest

        ip, network_id, router_id = payload.get("ip"), payload.get("network_id"), payload.get("router_id")
        if not isinstance(ip, str) or not ip or (network_id is None) == (router_id is None):
            raise BadRequest("find_port needs an ip and one of network_id or router_id")
        return await agent_ports.find(ip, network_id, router_id)

    return {"get_host_state": get_host_state, "update_port_status": update_port_status,
            "update_floatingip_status": update_floatingip_status, "get_dhcp_port": get_dhcp_port,
            "find_port": find_port}
