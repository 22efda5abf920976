"""Links, addresses, routes and bridge FDB entries of one network namespace, over netlink (pyroute2).

``Netlink(None)`` works in the process's own namespace, ``Netlink("qrouter-...")`` in a named one
(pyroute2 opens its socket there). Every call is asynchronous (pyroute2's ``AsyncIPRoute``); a
name that does not exist is ``None`` or a no-op rather than an error, so reconcilers stay simple.
Requests on one socket take turns: the kernel answers a second dump on a socket whose first is
still running with EBUSY.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Self

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

LOG = logging.getLogger(__name__)

ZERO_MAC = "00:00:00:00:00:00"
MAIN_TABLE = 254
RTPROT_KERNEL = 2
RTPROT_STATIC = 4


@dataclass
class Link:
    index: int
    name: str
    kind: str | None
    master: int | None
    mtu: int
    mac: str
    up: bool
    vxlan_id: int | None = None
    vxlan_local: str | None = None
    vxlan_learning: bool | None = None
    vlan_id: int | None = None
    parent: int | None = None


@dataclass(frozen=True)
class Route:
    dst: str             # "0.0.0.0/0", "10.1.0.0/16"
    gateway: str | None
    proto: int


def _link(msg: Any) -> Link:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info else None
    data = info.get_attr("IFLA_INFO_DATA") if info else None
    link = Link(index=msg["index"], name=msg.get_attr("IFLA_IFNAME"), kind=kind, master=msg.get_attr("IFLA_MASTER"),
                mtu=msg.get_attr("IFLA_MTU") or 0, mac=(msg.get_attr("IFLA_ADDRESS") or "").lower(),
                up=bool(msg["flags"] & 1), parent=msg.get_attr("IFLA_LINK"))
    if data is not None and kind == "vxlan":
        link.vxlan_id = data.get_attr("IFLA_VXLAN_ID")
        link.vxlan_local = data.get_attr("IFLA_VXLAN_LOCAL")
        learning = data.get_attr("IFLA_VXLAN_LEARNING")
        link.vxlan_learning = None if learning is None else bool(learning)
    elif data is not None and kind == "vlan":
        link.vlan_id = data.get_attr("IFLA_VLAN_ID")
    return link


async def _all(result: Any) -> list[Any]:
    """pyroute2 answers some requests with a list, dumps with an async iterator."""
    if hasattr(result, "__aiter__"):
        return [m async for m in result]
    return list(result or [])


def _gone(exc: NetlinkError) -> bool:
    return exc.code in (errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL, errno.ENXIO)


class Netlink:
    def __init__(self, netns: str | None = None) -> None:
        self.netns = netns
        self._ipr: AsyncIPRoute | None = None
        self._lock = asyncio.Lock()

    async def _api(self) -> AsyncIPRoute:
        if self._ipr is None:
            ipr = AsyncIPRoute(netns=self.netns) if self.netns else AsyncIPRoute()
            await ipr.setup_endpoint()
            self._ipr = ipr
        return self._ipr

    async def _req(self, call: str, *args: Any, **kwargs: Any) -> list[Any]:
        """One netlink request and its whole answer, while no other request runs on this socket."""
        async with self._lock:
            ipr = await self._api()
            return await _all(await getattr(ipr, call)(*args, **kwargs))

    async def close(self) -> None:
        if self._ipr is not None:
            ipr, self._ipr = self._ipr, None
            ipr.close()

    async def __aenter__(self) -> Self:
        await self._api()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- links ---------------------------------------------------------------------------------
    async def links(self) -> dict[str, Link]:
        return {link.name: link for link in [_link(m) for m in await self._req("link", "dump")]}

    async def link(self, name: str) -> Link | None:
        try:
            msgs = await self._req("link", "get", ifname=name)
        except NetlinkError as exc:
            if _gone(exc):
                return None
            raise
        return _link(msgs[0]) if msgs else None

    async def _add(self, **spec: Any) -> None:
        try:
            await self._req("link", "add", **spec)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise

    async def add_bridge(self, name: str, mtu: int) -> None:
        await self._add(ifname=name, kind="bridge", mtu=mtu, br_stp_state=0, br_forward_delay=0)

    async def add_vxlan(self, name: str, vni: int, local: str, port: int, mtu: int) -> None:
        await self._add(ifname=name, kind="vxlan", vxlan_id=vni, vxlan_local=local, vxlan_port=port,
                        vxlan_learning=0, mtu=mtu)

    async def add_vlan(self, name: str, parent: int, vlan_id: int) -> None:
        await self._add(ifname=name, kind="vlan", link=parent, vlan_id=vlan_id)

    async def add_veth(self, name: str, peer: str, *, peer_netns: str | None, peer_mac: str | None,
                       mtu: int) -> None:
        peer_spec: dict[str, Any] = {"ifname": peer, "mtu": mtu}
        if peer_netns:
            peer_spec["net_ns_fd"] = peer_netns
        if peer_mac:
            peer_spec["address"] = peer_mac
        await self._add(ifname=name, kind="veth", mtu=mtu, peer=peer_spec)

    async def set(self, index: int, **values: Any) -> None:
        """Change a link: ``master=``, ``mtu=``, ``state="up"``, ``address=``."""
        await self._req("link", "set", index=index, **values)

    async def delete(self, name: str) -> bool:
        try:
            await self._req("link", "del", ifname=name)
        except NetlinkError as exc:
            if _gone(exc):
                return False
            raise
        return True

    # -- the bridge forwarding database of a VXLAN device --------------------------------------
    async def flood_peers(self, index: int) -> set[str]:
        """The remote endpoints broadcast and unknown unicast go to (all-zero MAC entries)."""
        out = set()
        for msg in await self._req("fdb", "dump", ifindex=index):
            if msg.get_attr("NDA_LLADDR") == ZERO_MAC and msg["ifindex"] == index and msg.get_attr("NDA_DST"):
                out.add(msg.get_attr("NDA_DST"))
        return out

    async def add_flood_peer(self, index: int, dst: str) -> None:
        try:
            await self._req("fdb", "append", ifindex=index, lladdr=ZERO_MAC, dst=dst)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise

    async def del_flood_peer(self, index: int, dst: str) -> None:
        try:
            await self._req("fdb", "del", ifindex=index, lladdr=ZERO_MAC, dst=dst)
        except NetlinkError as exc:
            if not _gone(exc):
                raise

    # -- addresses -----------------------------------------------------------------------------
    async def addresses(self, index: int) -> set[str]:
        """The link's addresses as "ip/prefixlen" (IPv6 link-local ones left out)."""
        out = set()
        for msg in await self._req("addr", "dump", index=index):
            ip = msg.get_attr("IFA_ADDRESS")
            if msg["index"] != index or ip is None or ip.startswith("fe80:"):
                continue
            out.add(f"{ip}/{msg['prefixlen']}")
        return out

    async def add_address(self, index: int, cidr: str) -> None:
        iface = ipaddress.ip_interface(cidr)
        spec: dict[str, Any] = {"index": index, "address": str(iface.ip), "prefixlen": iface.network.prefixlen}
        if iface.version == 4 and iface.network.prefixlen < 31:
            spec["broadcast"] = str(iface.network.broadcast_address)
        if iface.version == 6:
            spec["flags"] = 0x02        # IFA_F_NODAD: usable at once
        try:
            await self._req("addr", "add", **spec)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise

    async def del_address(self, index: int, cidr: str) -> None:
        iface = ipaddress.ip_interface(cidr)
        try:
            await self._req("addr", "del", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
        except NetlinkError as exc:
            if not _gone(exc):
                raise

    # -- routes (main table) -------------------------------------------------------------------
    async def routes(self, family: int = 2) -> list[Route]:
        """Routes of the main table that are not the kernel's own (connected subnets)."""
        out = []
        for msg in await self._req("route", "dump", family=family):
            table = msg.get_attr("RTA_TABLE") or msg["table"]
            if table != MAIN_TABLE or msg["proto"] == RTPROT_KERNEL or msg["type"] != 1:
                continue
            dst = msg.get_attr("RTA_DST")
            zero = "0.0.0.0" if family == 2 else "::"
            out.append(Route(f"{dst or zero}/{msg['dst_len']}", msg.get_attr("RTA_GATEWAY"), msg["proto"]))
        return out

    async def replace_route(self, dst: str, gateway: str) -> None:
        await self._req("route", "replace", dst=dst, gateway=gateway, proto=RTPROT_STATIC)

    async def del_route(self, dst: str, gateway: str | None) -> None:
        spec: dict[str, Any] = {"dst": dst}
        if gateway:
            spec["gateway"] = gateway
        try:
            await self._req("route", "del", **spec)
        except NetlinkError as exc:
            if not _gone(exc):
                raise


RTM_NEWLINK, RTM_DELLINK = 16, 17


async def watch_links(netns: str | None) -> Any:
    """Yield ("new" | "del", link name) as links of the namespace appear, change and go."""
    from pyroute2.netlink.rtnl import RTMGRP_LINK

    ipr = AsyncIPRoute(netns=netns, groups=RTMGRP_LINK) if netns else AsyncIPRoute(groups=RTMGRP_LINK)
    await ipr.setup_endpoint()
    try:
        await ipr.bind(groups=RTMGRP_LINK)
        while True:
            async for msg in ipr.get():
                kind = msg["header"]["type"]
                if kind in (RTM_NEWLINK, RTM_DELLINK):
                    yield ("new" if kind == RTM_NEWLINK else "del"), msg.get_attr("IFLA_IFNAME")
    finally:
        ipr.close()
