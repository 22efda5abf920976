"""IP address management: the fixed IPs of a port, chosen inside the port's own transaction.

A port asks for addresses with ``fixed_ips`` entries (``subnet_id`` and/or ``ip_address``) or,
when it names none, gets one address from the network's IPv4 subnets, one from its stateful
IPv6 subnets, and the EUI-64 address of its MAC on every SLAAC / DHCPv6-stateless subnet
(Neutron's pluggable IPAM rules, ``ipam_pluggable_backend``).

Choosing a free address never takes a lock: the allocator reads the subnet's allocations,
picks at random among the first few free addresses of its pools (so concurrent writers
rarely want the same one), and the port inserts ``IPAllocation`` rows whose primary key is
(subnet_id, ip_address). A writer that lost a race fails that insert and ``transactions.write``
runs its whole transaction again, which then sees the winner's row. An address is therefore
never handed out twice, and a full subnet answers ``IpAddressGenerationFailure`` (409).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Subnet
from nubes.network.db.queries import subnets as subnet_q
from nubes.network.exceptions import (
    AllocationOnAutoAddressSubnet,
    InvalidInput,
    InvalidIpForNetwork,
    InvalidIpForSubnet,
    IpAddressAlreadyAllocated,
    IpAddressGenerationFailure,
    SubnetNotFound,
)
from nubes.network.service import addresses

# How many of the lowest free addresses a pick chooses among.
WINDOW = 16
ROUTER_INTERFACE_OWNERS = ("network:router_interface", "network:ha_router_replicated_interface",
                           "network:router_interface_distributed")
ROUTER_SNAT_OWNERS = (*ROUTER_INTERFACE_OWNERS, "network:router_centralized_snat")

Address = tuple[str, str]   # (subnet_id, ip_address)


def _windows(pools: list[addresses.Range], hint: int | None) -> Iterable[list[int]]:
    """Runs of up to PROBE pool addresses, from ``hint`` to the end of the pools, then from the start."""
    def run(first: int, last: int) -> Iterable[list[int]]:
        for start in range(first, last + 1, PROBE):
            yield list(range(start, min(start + PROBE, last + 1)))

    if hint is None or not any(hint in p for p in pools):
        hint = pools[0].first
    for p in pools:                       # from the hint onwards
        if p.last >= hint:
            yield from run(max(p.first, hint), p.last)
    for p in pools:                       # then what lies before it
        if p.first < hint:
            yield from run(p.first, min(p.last, hint - 1))


def is_auto(subnet: Subnet) -> bool:
    return subnet.ip_version == 6 and addresses.is_auto_address(subnet.ipv6_ra_mode, subnet.ipv6_address_mode)


@dataclass
class Changes:
    keep: list[Address] = field(default_factory=list)
    add: list[Address] = field(default_factory=list)
    remove: list[Address] = field(default_factory=list)

    @property
    def result(self) -> list[Address]:
        return [*self.keep, *self.add]


# Per subnet, where the last pick found a free address: the next pick starts looking there.
# Only a hint (each process has its own); the (subnet_id, ip_address) key is what guarantees
# that no address is handed out twice.
_HINTS: dict[str, int] = {}
PROBE = 64              # addresses asked about per query
PROBE_LIMIT = 64        # windows probed before reading the whole subnet's allocations


class Allocator:
    """Free-address bookkeeping for one network within one transaction.

    A pick does not read every allocation of the subnet (that grew with every port): it asks
    whether the next ``PROBE`` addresses from where the last pick stopped are taken, and only
    a subnet that stays full for ``PROBE_LIMIT`` windows is read whole.
    """

    def __init__(self, s: AsyncSession, network_id: str, subnets: list[Subnet]) -> None:
        self.s = s
        self.network_id = network_id
        self.subnets = subnets
        self._picked: dict[str, set[int]] = {}

    @classmethod
    async def load(cls, s: AsyncSession, network_id: str) -> Allocator:
        return cls(s, network_id, await subnet_q.of_network(s, network_id))

    def _mine(self, subnet: Subnet) -> set[int]:
        return self._picked.setdefault(subnet.id, set())

    async def take(self, subnet: Subnet, ip: str) -> Address:
        value = int(addresses.address(ip))
        text = addresses.to_text(value, subnet.ip_version)
        if value in self._mine(subnet) or await subnet_q.addresses_taken(self.s, subnet.id, [text]):
            raise IpAddressAlreadyAllocated(ip, subnet.id)
        self._mine(subnet).add(value)
        return subnet.id, text

    async def pick(self, subnet: Subnet) -> Address | None:
        pools = sorted((addresses.Range.of(p.first_ip, p.last_ip) for p in subnet.allocation_pools),
                       key=lambda r: r.first)
        if not pools:
            return None
        mine = self._mine(subnet)
        for n, window in enumerate(_windows(pools, _HINTS.get(subnet.id))):
            if n >= PROBE_LIMIT:
                return await self._pick_dense(subnet, pools)
            candidates = [v for v in window if v not in mine]
            texts = {addresses.to_text(v, subnet.ip_version): v for v in candidates}
            taken = await subnet_q.addresses_taken(self.s, subnet.id, list(texts))
            free = [v for t, v in texts.items() if t not in taken]
            if free:
                value = random.choice(free[:WINDOW])
                _HINTS[subnet.id] = window[0]
                mine.add(value)
                return subnet.id, addresses.to_text(value, subnet.ip_version)
        return None

    async def _pick_dense(self, subnet: Subnet, pools: list[addresses.Range]) -> Address | None:
        used = {int(addresses.address(ip)) for ip in await subnet_q.used_addresses(self.s, subnet.id)}
        used |= self._mine(subnet)
        free = addresses.free_addresses(pools, used, WINDOW)
        if not free:
            return None
        value = random.choice(free)
        self._mine(subnet).add(value)
        return subnet.id, addresses.to_text(value, subnet.ip_version)

    async def pick_any(self, subnets: Iterable[Subnet]) -> Address:
        for subnet in subnets:
            got = await self.pick(subnet)
            if got is not None:
                return got
        raise IpAddressGenerationFailure(self.network_id)

    # -- the subnet a fixed_ips entry means -------------------------------------------------
    async def subnet_for(self, fixed: dict[str, Any], device_owner: str) -> Subnet:
        if not self.subnets:
            raise InvalidInput("IP allocation requires subnets for network")
        ip = fixed.get("ip_address")
        if fixed.get("subnet_id"):
            subnet = next((x for x in self.subnets if x.id == fixed["subnet_id"]), None)
            if subnet is None:
                other = await subnet_q.get(self.s, fixed["subnet_id"])
                if other is None:
                    raise SubnetNotFound(fixed["subnet_id"])
                raise InvalidInput(f"Failed to create port on network {other.network_id}, because fixed_ips "
                                   f"included invalid subnet {fixed['subnet_id']}")
            if ip is not None and not addresses.ip_in_subnet(subnet.cidr, ip, device_owner):
                raise InvalidIpForSubnet(ip)
            return subnet
        if ip is None:
            raise InvalidInput("IP allocation requires subnet_id or ip_address")
        for subnet in self.subnets:
            if addresses.ip_in_subnet(subnet.cidr, ip, device_owner):
                return subnet
        raise InvalidIpForNetwork(ip)

    # -- whole ports ------------------------------------------------------------------------
    async def for_new_port(self, requests: list[dict[str, Any]] | None, mac: str,
                           device_owner: str) -> list[Address]:
        """The addresses of a new port: ``requests`` None means "the defaults", [] means none."""
        if requests is None:
            v4 = [x for x in self.subnets if x.ip_version == 4]
            v6 = [x for x in self.subnets if x.ip_version == 6 and not is_auto(x)]
            out = [await self.pick_any(group) for group in (v4, v6) if group]
            return out + await self._auto(mac, device_owner, handled=set())
        return await self._requested(requests, mac, device_owner, handled=set(), add_auto=True)

    async def _requested(self, requests: list[dict[str, Any]], mac: str, device_owner: str,
                         handled: set[str], add_auto: bool) -> list[Address]:
        specific: list[tuple[Subnet, str]] = []
        anywhere: list[Subnet] = []
        for fixed in requests:
            subnet = await self.subnet_for(fixed, device_owner)
            auto = is_auto(subnet)
            if fixed.get("ip_address") is not None:
                if auto and device_owner not in ROUTER_INTERFACE_OWNERS:
                    raise AllocationOnAutoAddressSubnet(fixed["ip_address"], subnet.id)
                specific.append((subnet, fixed["ip_address"]))
            elif not auto or device_owner in ROUTER_SNAT_OWNERS:
                anywhere.append(subnet)
        # Specific addresses first, in case they are next in line for the others.
        out = [await self.take(subnet, ip) for subnet, ip in specific]
        for subnet in anywhere:
            got = await self.pick(subnet)
            if got is None:
                raise IpAddressGenerationFailure(self.network_id)
            out.append(got)
        if add_auto:
            out += await self._auto(mac, device_owner, handled={a for a, _ in out} | handled)
        return out

    async def _auto(self, mac: str, device_owner: str, handled: set[str]) -> list[Address]:
        if device_owner in ROUTER_SNAT_OWNERS:
            return []
        out = []
        for subnet in self.subnets:
            if is_auto(subnet) and subnet.id not in handled:
                out.append(await self.take(subnet, addresses.eui64(subnet.cidr, mac)))
        return out

    async def for_update(self, original: list[Address], requests: list[dict[str, Any]], mac: str,
                         device_owner: str) -> Changes:
        """Neutron's _get_changed_ips_for_port: keep what the request repeats, add what is new,
        release the rest (addresses on auto-address subnets stay unless asked for)."""
        changes = Changes()
        by_ip = {ip: (sid, ip) for sid, ip in original}
        pending: list[dict[str, Any]] = []
        for fixed in requests:
            ip = fixed.get("ip_address")
            if ip is not None and str(addresses.address(ip)) in by_ip:
                changes.keep.append(by_ip.pop(str(addresses.address(ip))))
            else:
                pending.append(fixed)
        by_subnet: dict[str, list[Address]] = {}
        for addr in by_ip.values():
            by_subnet.setdefault(addr[0], []).append(addr)
        to_add: list[dict[str, Any]] = []
        for fixed in pending:
            ip = fixed.get("ip_address")
            olds = by_subnet.get(fixed.get("subnet_id") or "") if ip is None else None
            if olds:
                changes.keep.append(olds.pop(0))
            else:
                to_add.append(fixed)
        subnets = {x.id: x for x in self.subnets}
        for addrs in by_subnet.values():
            for addr in addrs:
                subnet = subnets.get(addr[0])
                if subnet is not None and is_auto(subnet) and device_owner not in ROUTER_SNAT_OWNERS:
                    changes.keep.append(addr)
                else:
                    changes.remove.append(addr)
        # Released addresses are not handed out again in the same transaction.
        handled = {sid for sid, _ in changes.keep}
        changes.add = await self._requested(to_add, mac, device_owner, handled=handled, add_auto=True)
        return changes
