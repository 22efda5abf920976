"""The L3 agent: per router scheduled to this host, a namespace ``qrouter-<router-id>`` that routes
between its networks and NATs to its external one.

A key is a router id. Converging one: the namespace with forwarding on; a device pair per
interface (``qr-<port[:11]>`` inside with the port's MAC and the subnets' gateway addresses,
``tap<port[:11]>`` on the host, plugged by the L2 agent into the network's bridge) and for the
gateway (``qg-<port[:11]>`` with its addresses and the floating IPs as /32s); the default route
via the external subnet's gateway and the router's static routes; the NAT ruleset (``nat``) in
one ``nft -f``; IPv6 router advertisements on the interfaces of subnets with an
``ipv6_ra_mode`` (``radvd``); a gratuitous ARP for each address that appears on the gateway
device; floating IP statuses reported. A router that is gone, disabled or moved to another host loses its
namespace (its device pairs go with it). Only ``qrouter-*`` namespaces and ``qr-``/``qg-``
devices in them are ever deleted.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Hashable, Iterable
from typing import Any

from nubes.network.agent import firewall, nat
from nubes.network.agent.radvd import RouterAdvertisements
from nubes.network.agent.base import AgentContext, HostAgent
from nubes.network.agent.linux import commands, netns, nft
from nubes.network.agent.linux.netlink import Netlink

LOG = logging.getLogger(__name__)

PREFIX = "qrouter-"
FORWARDING = {"net.ipv4.ip_forward": "1", "net.ipv6.conf.all.forwarding": "1"}


def namespace(router_id: str) -> str:
    return PREFIX + router_id


def _cidrs(port: dict[str, Any], subnets: dict[str, Any]) -> set[str]:
    out = set()
    for ip in port.get("fixed_ips") or []:
        subnet = subnets.get(ip["subnet_id"])
        if subnet is not None:
            out.add(f"{ip['ip_address']}/{subnet['cidr'].split('/')[1]}")
    return out


class L3Agent(HostAgent):
    name = "l3"
    agent_type = "L3 agent"
    binary = "nubes-l3-agent"
    topic = "l3_agent"
    events = ("network.router.", "network.floatingip.", "network.port.", "network.subnet.", "network.agent.")

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.host_nl = Netlink(self.settings.netns)
        self.applied: dict[str, tuple[int | None, str]] = {}    # router -> (namespace inode, ruleset)
        self._garp: set[asyncio.Task[Any]] = set()
        self._routers = 0
        self._wired: dict[str, set[str]] = {}      # router -> its ports in ctx.l3_wired
        self.ra = RouterAdvertisements(self.settings.state_path, self.settings.min_rtr_adv_interval,
                                       self.settings.max_rtr_adv_interval)

    def configurations(self) -> dict[str, Any]:
        return {"routers": self._routers, "agent_mode": "legacy", "handle_internal_only_routers": True,
                "interface_driver": "linuxbridge"}

    async def keys(self) -> Iterable[Hashable]:
        snap = await self.source.get(max_age=self.resync / 2)
        wanted = {r["id"] for r in snap.get("routers") or []}
        self._routers = len(wanted)
        present = {n[len(PREFIX):] for n in await netns.names(PREFIX)}
        return sorted(wanted | present)

    def _set_wired(self, router_id: str, port_ids: set[str]) -> set[str]:
        """Record the router's wired ports (for the L2 agent's statuses); the ones that changed."""
        before = self._wired.pop(router_id, set())
        self.ctx.l3_wired.difference_update(before)
        if port_ids:
            self._wired[router_id] = set(port_ids)
            self.ctx.l3_wired.update(port_ids)
        return before ^ port_ids

    async def converge(self, key: Hashable) -> None:
        router_id = str(key)
        snap = await self.source.current()
        router = next((r for r in snap.get("routers") or [] if r["id"] == router_id), None)
        if router is None or not router.get("admin_state_up", True):
            await self.teardown(router_id)
            return
        try:
            await self._wire(router_id, router, snap)
        except BaseException:
            for port_id in self._set_wired(router_id, set()):
                self.ctx.kick("l2", ("port", port_id))
            raise

    async def _wire(self, router_id: str, router: dict[str, Any], snap: dict[str, Any]) -> None:
        ns = namespace(router_id)
        created = not await netns.exists(ns)
        await netns.create(ns)
        if created or router_id not in self.applied:
            await commands.sysctl(FORWARDING, ns)
        async with Netlink(ns) as nl:
            new_gateway_ips = await self._devices(nl, router, snap)
            await self._routes(nl, router, snap)
        await self._nat(router_id, router, snap)
        try:
            await self.ra.ensure(router_id, ns, router, snap)
        except (OSError, commands.CommandFailed) as exc:     # IPv4 routing goes on; the next resync retries
            LOG.error("router %s: radvd could not be started: %s", router_id, exc)
        for ip in sorted(new_gateway_ips):
            self._announce(ns, self._gateway_device(router), ip)
        for fip in router.get("floating_ips") or []:
            await self.report_floatingip(fip, "ACTIVE" if router.get("gateway") else "ERROR")
        ports = [*(router.get("interfaces") or []), *([router["gateway"]] if router.get("gateway") else [])]
        self._set_wired(router_id, {p["id"] for p in ports})
        for port in ports:
            self.ctx.kick("l2", ("port", port["id"]))
        self.ctx.kick("metadata", ("router", router_id))

    @staticmethod
    def _gateway_device(router: dict[str, Any]) -> str | None:
        return "qg-" + router["gateway"]["id"][:11] if router.get("gateway") else None

    async def _devices(self, nl: Netlink, router: dict[str, Any], snap: dict[str, Any]) -> set[str]:
        """Make the router's devices; the gateway addresses that were not there before."""
        ns, subnets, networks = namespace(router["id"]), snap.get("subnets") or {}, snap.get("networks") or {}
        wanted: dict[str, tuple[dict[str, Any], set[str]]] = {}
        for port in router.get("interfaces") or []:
            wanted["qr-" + port["id"][:11]] = (port, _cidrs(port, subnets))
        gateway_ips: set[str] = set()
        if router.get("gateway"):
            gw = router["gateway"]
            cidrs = _cidrs(gw, subnets) | {f"{f['floating_ip_address']}/32" for f in router.get("floating_ips") or []
                                           if f.get("fixed_ip_address")}
            wanted["qg-" + gw["id"][:11]] = (gw, cidrs)
        links = await nl.links()
        for name in [n for n in links if n.startswith(("qr-", "qg-")) and n not in wanted]:
            await nl.delete(name)
        if not links["lo"].up:
            await nl.set(links["lo"].index, state="up")
        for name, (port, cidrs) in sorted(wanted.items()):
            mtu = int((networks.get(port["network_id"]) or {}).get("mtu") or 1500)
            if name not in links:
                await self.host_nl.delete(firewall.device_name(port["id"]))
                await self.host_nl.add_veth(firewall.device_name(port["id"]), name, peer_netns=ns,
                                            peer_mac=port["mac_address"], mtu=mtu)
                links = await nl.links()
            link = links[name]
            if link.mac != port["mac_address"].lower() or link.mtu != mtu or not link.up:
                await nl.set(link.index, address=port["mac_address"], mtu=mtu, state="up")
            have = await nl.addresses(link.index)
            for cidr in sorted(cidrs - have):
                await nl.add_address(link.index, cidr)
                if name.startswith("qg-") and ipaddress.ip_interface(cidr).version == 4:
                    gateway_ips.add(cidr.split("/")[0])
            for cidr in sorted(have - cidrs):
                await nl.del_address(link.index, cidr)
            root = await self.host_nl.link(firewall.device_name(port["id"]))
            if root is not None and (root.mtu != mtu or not root.up):
                await self.host_nl.set(root.index, mtu=mtu, state="up")
        return gateway_ips

    async def _routes(self, nl: Netlink, router: dict[str, Any], snap: dict[str, Any]) -> None:
        """The default routes (IPv4 and IPv6) via the external subnets' gateways, and the router's
        static routes of both versions."""
        subnets = snap.get("subnets") or {}
        wanted: dict[int, dict[str, str]] = {4: {}, 6: {}}
        gw = router.get("gateway")
        for ip in (gw or {}).get("fixed_ips") or []:
            subnet = subnets.get(ip["subnet_id"])
            if subnet and subnet.get("gateway_ip"):
                version = subnet["ip_version"]
                wanted[version].setdefault("0.0.0.0/0" if version == 4 else "::/0", subnet["gateway_ip"])
        for route in router.get("routes") or []:
            dst = ipaddress.ip_network(route["destination"], strict=False)
            wanted[dst.version][str(dst)] = route["nexthop"]
        for version, family in ((4, socket.AF_INET), (6, socket.AF_INET6)):
            have = {r.dst: r.gateway for r in await nl.routes(family)}
            for dst, via in sorted(wanted[version].items()):
                if have.get(dst) != via:
                    await nl.replace_route(dst, via)
            for dst, via in sorted(have.items()):
                if dst not in wanted[version]:
                    await nl.del_route(dst, via)

    async def _nat(self, router_id: str, router: dict[str, Any], snap: dict[str, Any]) -> None:
        gw, gw_ip = router.get("gateway"), None
        for ip in (gw or {}).get("fixed_ips") or []:
            if ipaddress.ip_address(ip["ip_address"]).version == 4:
                gw_ip = ip["ip_address"]
                break
        fips = tuple(nat.FloatingIP(f["floating_ip_address"], f["fixed_ip_address"])
                     for f in router.get("floating_ips") or [] if f.get("fixed_ip_address"))
        text = nat.ruleset(nat.RouterNat(self._gateway_device(router), gw_ip, bool(router.get("enable_snat")),
                                         fips, metadata=bool(router.get("interfaces"))))
        ns = namespace(router_id)
        current = (netns.inode(ns), text)
        if self.applied.get(router_id) != current:
            await nft.apply(text, ns)
            self.applied[router_id] = current

    def _announce(self, ns: str, device: str | None, ip: str) -> None:
        """Gratuitous ARP for an address that just appeared (fire and forget)."""
        if device is None:
            return

        async def arping() -> None:
            res = await commands.run(["arping", "-U", "-c", "1", "-w", "2", "-I", device, ip], netns=ns,
                                     timeout=5, check=False)
            if res.code not in (0, 1):
                LOG.debug("gratuitous ARP for %s on %s failed: %s", ip, device, res.stderr.strip())

        task = asyncio.create_task(arping(), name=f"garp-{ip}")
        self._garp.add(task)
        task.add_done_callback(self._garp.discard)

    async def teardown(self, router_id: str) -> None:
        ns = namespace(router_id)
        for port_id in self._set_wired(router_id, set()):
            self.ctx.kick("l2", ("port", port_id))
        await self.ra.stop(router_id, ns)
        if await netns.exists(ns):
            async with Netlink(ns) as nl:
                for name in [n for n in await nl.links() if n.startswith(("qr-", "qg-"))]:
                    await nl.delete(name)
            await netns.remove(ns)
            LOG.info("router %s removed from %s", router_id, self.settings.host)
        self.applied.pop(router_id, None)
        self.ctx.kick("metadata", ("router", router_id))

    async def shutdown(self) -> None:
        for t in list(self._garp):
            t.cancel()
        await self.host_nl.close()
