"""The Linux bridge agent: a bridge per network, its uplink, the host's port devices plugged in, and
the security group firewall.

Keys are ``("net", network_id)`` (bridge ``brq<id[:11]>`` with its uplink: the mapped interface
for a flat network, ``<iface>.<vlan>`` for a VLAN one, ``vxlan-<vni>`` for VXLAN with a flooding
entry per peer host and learning off, nothing for a local one), ``("port", port_id)`` (the device
``tap<id[:11]>`` — made by the compute driver for instances, by the DHCP and L3 agents for theirs
— in its network's bridge with the network's MTU, once the firewall has its rules; then the port
is ACTIVE (a router's port once the L3 agent has also wired its router), DOWN while its device is
missing, ERROR when its network cannot be wired),
``("firewall",)`` (the whole nftables ruleset, see ``firewall``) and ``("dev", name)`` for a
device of ours that nothing wants any more (deleted) or a tap in one of our bridges that is no
port of this host (unplugged). Only ``brq*``, ``vxlan-*`` and VLAN sub-interfaces of mapped
interfaces are ever deleted; a mapped physical interface is only plugged in and out.

Netlink link notifications queue the port whose ``tap*`` device appeared or went away (the
compute driver tells nobody when it makes a tap); should that watch fail, a poll of the host's
devices every ``device_poll_interval`` seconds does the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nubes.network.agent import firewall
from nubes.network.agent.base import AgentContext, HostAgent
from nubes.network.agent.linux import commands, nft
from nubes.network.agent.linux.netlink import Link, Netlink, watch_links

LOG = logging.getLogger(__name__)

BR_NETFILTER = {"net.bridge.bridge-nf-call-iptables": "1", "net.bridge.bridge-nf-call-ip6tables": "1"}


class Unwirable(Exception):
    """A network this host cannot realize (no mapping for its physical network, no tunnel address)."""


def vlan_device(interface: str, vlan_id: int) -> str:
    suffix = f".{vlan_id}"
    return interface[:15 - len(suffix)] + suffix


def vxlan_device(vni: int) -> str:
    return f"vxlan-{vni}"


@dataclass
class Desired:
    """What the host must have, computed from one snapshot."""

    fetch: int
    networks: dict[str, dict[str, Any]]
    ports: dict[str, dict[str, Any]]            # every port wired here: bound ones, router ports
    peers: set[str]
    routed: set[str]                            # the router ports among them (the L3 agent's)
    groups: dict[str, Any]
    members: dict[str, list[str]]
    devices: dict[str, str] = field(default_factory=dict)   # tap name -> port id
    bridges: set[str] = field(default_factory=set)


def desired_state(snap: dict[str, Any], fetch: int, local_ip: str) -> Desired:
    ports = {p["id"]: p for p in snap.get("ports") or []}
    routed: set[str] = set()
    for router in snap.get("routers") or []:
        for p in [*(router.get("interfaces") or []), *([router["gateway"]] if router.get("gateway") else [])]:
            ports.setdefault(p["id"], p)
            routed.add(p["id"])
    networks = dict(snap.get("networks") or {})
    peers = {p["ip"] for p in snap.get("tunnel_peers") or [] if p.get("ip") and p["ip"] != local_ip}
    d = Desired(fetch, networks, ports, peers, routed, snap.get("security_groups") or {},
                snap.get("remote_group_members") or {})
    d.devices = {firewall.device_name(pid): pid for pid in ports}
    d.bridges = {firewall.bridge_name(nid) for nid in networks}
    return d


class L2Agent(HostAgent):
    name = "l2"
    agent_type = "Linux bridge agent"
    binary = "nubes-linuxbridge-agent"
    events = ("network.port.", "network.network.", "network.subnet.", "network.security_group",
              "network.router.", "network.agent.", "network.rbac_policy.")

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.nl = Netlink(self.settings.netns)
        self._desired: Desired | None = None
        self._net_locks: dict[str, asyncio.Lock] = {}
        self._net_done: dict[str, tuple[int, Link]] = {}     # network -> (snapshot, bridge) last converged
        self._fw_lock = asyncio.Lock()
        self.applied_ruleset: str | None = None
        self._fw_fetch = -1
        self.rejected: dict[str, str] = {}
        self.net_errors: dict[str, str] = {}
        self._taps: set[str] | None = None

    def configurations(self) -> dict[str, Any]:
        d = self._desired
        return {"tunnel_ip": self.settings.local_ip, "tunneling_ip": self.settings.local_ip,
                "tunnel_types": ["vxlan"] if self.settings.local_ip else [],
                "interface_mappings": dict(self.settings.interface_mappings), "bridge_mappings": {},
                "l2_population": False, "devices": len(d.ports) if d else 0}

    async def desired(self) -> Desired:
        snap = await self.source.current()
        if self._desired is None or self._desired.fetch != self.source.fetches:
            self._desired = desired_state(snap, self.source.fetches, self.settings.local_ip)
        return self._desired

    # -- keys ----------------------------------------------------------------------------------
    async def keys(self) -> Iterable[Hashable]:
        await self.source.get(max_age=self.resync / 2)
        d = await self.desired()
        links = await self.nl.links()
        keys: list[Hashable] = [("firewall",)]
        keys += [("net", nid) for nid in sorted(d.networks)]
        keys += [("port", pid) for pid in sorted(d.ports)]
        keys += [("dev", name) for name in sorted(self._unwanted(d, links))]
        return keys

    def _mapped(self) -> set[str]:
        return set(self.settings.interface_mappings.values())

    def _owned(self, link: Link, links_by_index: dict[int, Link]) -> bool:
        if link.name.startswith("brq") and link.kind == "bridge":
            return True
        if link.name.startswith("vxlan-") and link.kind == "vxlan":
            return True
        parent = links_by_index.get(link.parent or -1)
        return link.kind == "vlan" and parent is not None and parent.name in self._mapped() \
            and link.name == vlan_device(parent.name, link.vlan_id or 0)

    def _unwanted(self, d: Desired, links: dict[str, Link]) -> set[str]:
        by_index = {link.index: link for link in links.values()}
        wanted_uplinks = {self._uplink_name(n) for n in d.networks.values()} - {None}
        out = set()
        for link in links.values():
            if self._owned(link, by_index):
                if link.kind == "bridge" and link.name not in d.bridges or link.kind != "bridge" and link.name not in wanted_uplinks:
                    out.add(link.name)
            elif link.name.startswith("tap") and link.master in by_index \
                    and by_index[link.master].name.startswith("brq"):
                pid = d.devices.get(link.name)
                if pid is None or by_index[link.master].name != firewall.bridge_name(d.ports[pid]["network_id"]):
                    out.add(link.name)
        return out

    def _uplink_name(self, net: dict[str, Any]) -> str | None:
        kind, physnet = net.get("network_type"), net.get("physical_network")
        if kind == "vxlan":
            return vxlan_device(net["segmentation_id"])
        if kind == "vlan" and physnet in self.settings.interface_mappings:
            return vlan_device(self.settings.interface_mappings[physnet], net["segmentation_id"])
        if kind == "flat":
            return self.settings.interface_mappings.get(physnet or "")
        return None

    async def converge(self, key: Hashable) -> None:
        kind, *rest = key  # type: ignore[misc]
        if kind == "firewall":
            await self.apply_firewall()
        elif kind == "net":
            d = await self.desired()
            if rest[0] in d.networks:
                await self._network_safely(d.networks[rest[0]], d)
        elif kind == "port":
            await self._port(rest[0])
        elif kind == "dev":
            await self._unwanted_device(rest[0])

    # -- networks ------------------------------------------------------------------------------
    async def _network_safely(self, net: dict[str, Any], d: Desired, *, again: bool = True) -> bool:
        try:
            await self.ensure_network(net, d, again=again)
        except Unwirable as exc:
            if self.net_errors.get(net["id"]) != str(exc):
                LOG.error("network %s cannot be wired on %s: %s", net["id"], self.settings.host, exc)
            self.net_errors[net["id"]] = str(exc)
            return False
        self.net_errors.pop(net["id"], None)
        return True

    async def ensure_network(self, net: dict[str, Any], d: Desired, *, again: bool = True) -> Link:
        """The network's bridge with its uplink; with ``again=False`` one made from this snapshot is trusted."""
        lock = self._net_locks.setdefault(net["id"], asyncio.Lock())
        async with lock:
            done = self._net_done.get(net["id"])
            if not again and done is not None and done[0] == d.fetch:
                return done[1]
            name, mtu = firewall.bridge_name(net["id"]), int(net.get("mtu") or 1500)
            bridge = await self.nl.link(name)
            if bridge is None:
                await self.nl.add_bridge(name, mtu)
                bridge = await self.nl.link(name)
                LOG.info("bridge %s made for network %s on %s", name, net["id"], self.settings.host)
            assert bridge is not None
            if bridge.mtu != mtu or not bridge.up:
                await self.nl.set(bridge.index, mtu=mtu, state="up")
            await self._uplink(net, bridge, mtu, d)
            self._net_done[net["id"]] = (d.fetch, bridge)
            return bridge

    async def _uplink(self, net: dict[str, Any], bridge: Link, mtu: int, d: Desired) -> None:
        kind, physnet = net.get("network_type"), net.get("physical_network")
        if kind == "local":
            return
        if kind in ("flat", "vlan"):
            iface = self.settings.interface_mappings.get(physnet or "")
            if not iface:
                raise Unwirable(f"physical network {physnet!r} has no interface mapping on this host "
                                "([network] physical_interface_mappings)")
            parent = await self.nl.link(iface)
            if parent is None:
                raise Unwirable(f"interface {iface} (physical network {physnet}) does not exist")
            if kind == "flat":
                await self._plug(parent, bridge, None)
                return
            name = vlan_device(iface, net["segmentation_id"])
            if await self.nl.link(name) is None:
                await self.nl.add_vlan(name, parent.index, net["segmentation_id"])
            if not parent.up:
                await self.nl.set(parent.index, state="up")
            link = await self.nl.link(name)
            assert link is not None
            await self._plug(link, bridge, mtu)
            return
        if kind == "vxlan":
            await self._vxlan(net, bridge, mtu, d)
            return
        raise Unwirable(f"network type {kind!r} is not supported by the Linux bridge agent")

    async def _vxlan(self, net: dict[str, Any], bridge: Link, mtu: int, d: Desired) -> None:
        local = self.settings.local_ip
        if not local:
            raise Unwirable("VXLAN needs this host's tunnel address ([network] local_ip)")
        vni, name = net["segmentation_id"], vxlan_device(net["segmentation_id"])
        link = await self.nl.link(name)
        if link is not None and (link.vxlan_id != vni or link.vxlan_local != local or link.vxlan_learning):
            LOG.info("%s has other settings (vni %s, local %s): making it again", name, link.vxlan_id, link.vxlan_local)
            await self.nl.delete(name)
            link = None
        if link is None:
            await self.nl.add_vxlan(name, vni, local, self.settings.vxlan_port, mtu)
            link = await self.nl.link(name)
        assert link is not None
        await self._plug(link, bridge, mtu)
        have = await self.nl.flood_peers(link.index)
        for ip in sorted(d.peers - have):
            await self.nl.add_flood_peer(link.index, ip)
        for ip in sorted(have - d.peers):
            await self.nl.del_flood_peer(link.index, ip)

    async def _plug(self, link: Link, bridge: Link, mtu: int | None) -> None:
        change: dict[str, Any] = {}
        if link.master != bridge.index:
            change["master"] = bridge.index
        if mtu is not None and link.mtu != mtu:
            change["mtu"] = mtu
        if not link.up:
            change["state"] = "up"
        if change:
            await self.nl.set(link.index, **change)

    # -- ports ---------------------------------------------------------------------------------
    async def _port(self, port_id: str) -> None:
        d = await self.desired()
        port = d.ports.get(port_id)
        if port is None:
            return
        net = d.networks.get(port["network_id"])
        if net is None or not await self._network_safely(net, d, again=False):
            why = "its network is not known to this host" if net is None else self.net_errors.get(net["id"])
            LOG.error("port %s cannot be wired on %s: %s", port_id, self.settings.host, why)
            await self.report_port(port, "ERROR")
            return
        dev = firewall.device_name(port_id)
        link = await self.nl.link(dev)
        if link is None or not port.get("admin_state_up", True):
            if link is not None and link.master is not None:
                await self.nl.set(link.index, master=0)
            await self.report_port(port, "DOWN")
            return
        await self.apply_firewall()
        if port_id in self.rejected:
            LOG.error("port %s on %s gets no traffic: its firewall rules cannot be made (%s)", port_id,
                      self.settings.host, self.rejected[port_id])
            await self.report_port(port, "ERROR")
            return
        bridge = await self.ensure_network(net, d, again=False)
        await self._plug(link, bridge, int(net.get("mtu") or 1500))
        if port_id in d.routed and port_id not in self.ctx.l3_wired:
            # plugged, but its router is not wired (yet): its status stays what it was (DOWN until
            # the router first is; ACTIVE across an agents' restart); the L3 agent kicks it once wired
            return
        await self.report_port(port, "ACTIVE")

    async def _unwanted_device(self, name: str) -> None:
        d = await self.desired()
        links = await self.nl.links()
        if name not in self._unwanted(d, links):
            return
        link = links[name]
        if name.startswith("tap"):
            LOG.info("unplugging %s from %s: it is no port of this host's network there", name,
                     next((x.name for x in links.values() if x.index == link.master), "?"))
            await self.nl.set(link.index, master=0)
            return
        if link.kind == "bridge":
            for slave in [x for x in links.values() if x.master == link.index]:
                if slave.name.startswith("tap") or slave.name in self._mapped():
                    await self.nl.set(slave.index, master=0)
        LOG.info("deleting %s on %s: no network here needs it", name, self.settings.host)
        await self.nl.delete(name)
        self._net_done = {k: v for k, v in self._net_done.items() if v[1].name != name}

    # -- the firewall --------------------------------------------------------------------------
    async def apply_firewall(self) -> None:
        """Make the kernel's ruleset the desired one (one nft transaction), if it is not already."""
        async with self._fw_lock:
            d = await self.desired()
            if not d.ports:
                if self.applied_ruleset != "":
                    await self._remove_tables()
                    self.applied_ruleset = ""
                self.rejected = {}
                return
            if self._fw_fetch == d.fetch and self.applied_ruleset is not None:
                return
            rules = firewall.ruleset(list(d.ports.values()), list(d.networks), d.groups, d.members)
            for pid, why in rules.rejected.items():
                if pid not in self.rejected:
                    LOG.error("port %s: security group rules cannot be expressed: %s", pid, why)
            self.rejected = rules.rejected
            if rules.text == self.applied_ruleset:
                self._fw_fetch = d.fetch
                return
            if self.applied_ruleset is None:
                await commands.sysctl(BR_NETFILTER, self.settings.netns)
            await nft.apply(rules.text, self.settings.netns)
            self.applied_ruleset = rules.text
            self._fw_fetch = d.fetch
            LOG.debug("firewall of %s: %d filtered ports, %d unfiltered", self.settings.host, len(rules.filtered),
                      len(rules.unfiltered))

    async def _remove_tables(self) -> None:
        ours = {(f, n) for f, n in await nft.tables(self.settings.netns) if n == firewall.TABLE}
        await nft.delete_tables(ours, self.settings.netns)

    # -- watching devices ----------------------------------------------------------------------
    async def background(self) -> list[Any]:
        return [self._poll_devices()]

    async def _poll_devices(self) -> None:
        while True:
            try:
                await self._look_at_devices()
                async for kind, name in watch_links(self.settings.netns):
                    self._device_event(kind, name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - logged; the loop goes on
                LOG.warning("%s: watching the host's devices failed (%s); polling instead", self.name, exc)
            await asyncio.sleep(self.settings.device_poll_interval)

    def _device_event(self, kind: str, name: str | None) -> None:
        if not name or not name.startswith("tap") or self._taps is None:
            return
        if (kind == "new") == (name in self._taps):
            return              # a change of a known device (plugged, up): nothing to look at
        (self._taps.add if kind == "new" else self._taps.discard)(name)
        self._queue_device(name)

    def _queue_device(self, name: str) -> None:
        pid = self._desired.devices.get(name) if self._desired is not None else None
        self.enqueue(("port", pid) if pid else ("dev", name))

    async def _look_at_devices(self) -> None:
        links = await self.nl.links()
        taps = {n for n in links if n.startswith("tap")}
        if self._taps is not None:
            for name in taps ^ self._taps:
                self._queue_device(name)
        self._taps = taps

    async def shutdown(self) -> None:
        await self.nl.close()
