"""Address arithmetic for subnets and ports: CIDRs, allocation pools, gateways, EUI-64.

Pure functions over :mod:`ipaddress`, with Neutron's rules and wording (``neutron.ipam.utils``
and the pool checks of ``ipam_backend_mixin``): pools default to the whole range minus the
network address, the IPv4 broadcast address and the gateway; a fixed IP must lie in the subnet
and be neither its network address nor (IPv4) its broadcast address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nubes.network.exceptions import (
    GatewayConflictWithAllocationPools,
    InvalidAllocationPool,
    OutOfBoundsAllocationPool,
    OverlappingAllocationPools,
)

Net = ipaddress.IPv4Network | ipaddress.IPv6Network
Addr = ipaddress.IPv4Address | ipaddress.IPv6Address

SLAAC, DHCPV6_STATEFUL, DHCPV6_STATELESS = "slaac", "dhcpv6-stateful", "dhcpv6-stateless"
IPV6_MODES = (DHCPV6_STATEFUL, DHCPV6_STATELESS, SLAAC)
AUTO_ADDRESS_MODES = (SLAAC, DHCPV6_STATELESS)


@dataclass(frozen=True)
class Range:
    """An inclusive range of addresses (Neutron's netaddr.IPRange), shown as "first-last"."""

    first: int
    last: int
    version: int

    @classmethod
    def of(cls, start: str, end: str) -> Range:
        a, b = ipaddress.ip_address(start), ipaddress.ip_address(end)
        return cls(int(a), int(b), a.version)

    @property
    def start(self) -> str:
        return to_text(self.first, self.version)

    @property
    def end(self) -> str:
        return to_text(self.last, self.version)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, value: int) -> bool:
        return self.first <= value <= self.last

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


def network(cidr: str) -> Net:
    return ipaddress.ip_network(cidr, strict=False)


def address(value: str) -> Addr:
    return ipaddress.ip_address(value)


def to_text(value: int, version: int) -> str:
    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


def normalize(cidr: str) -> str:
    """The subnet a CIDR with host bits names ("10.0.0.5/24" -> "10.0.0.0/24"), as Neutron stores it."""
    return str(network(cidr))


def first_host(cidr: str) -> str:
    net = network(cidr)
    return to_text(int(net.network_address) + 1, net.version)


def gateway_invalid(cidr: str, gateway: str) -> bool:
    """Neutron's check_gateway_invalid_in_subnet: inside the subnet it may not be the network
    address, nor the IPv4 broadcast address. A gateway outside the subnet is allowed (on-link)."""
    net, ip = network(cidr), address(gateway)
    return ip in net and net.version == 4 and ip in (net.network_address, net.broadcast_address)


def ip_in_subnet(cidr: str, ip: str, device_owner: str = "") -> bool:
    """Neutron's check_subnet_ip: in the subnet, not its network address (except a router's
    IPv6 subnet-router anycast address), not its IPv4 broadcast address."""
    net, addr = network(cidr), address(ip)
    if addr.version != net.version or addr not in net:
        return False
    if net.version == 6:
        return addr != net.network_address or device_owner.startswith("network:router")
    return addr not in (net.network_address, net.broadcast_address)


def generate_pools(cidr: str, gateway: str | None) -> list[Range]:
    """The default pools: every host address of the subnet except the gateway."""
    net = network(cidr)
    first, last = int(net.network_address), int(net.broadcast_address)
    if first == last:
        return [Range(first, last, net.version)]
    lo, hi = first + 1, last - (1 if net.version == 4 else 0)
    if lo >= hi:           # a /31 (or /127) has no host range
        return []
    ranges = [Range(lo, hi, net.version)]
    if gateway:
        gw = int(address(gateway))
        if lo <= gw <= hi:
            ranges = [r for r in (Range(lo, gw - 1, net.version), Range(gw + 1, hi, net.version))
                      if r.first <= r.last]
    return ranges


def parse_pools(pools: Iterable[dict[str, str]]) -> list[Range]:
    """Request pools as ranges; a start after its end is an invalid pool."""
    out = []
    for pool in pools:
        a, b = address(pool["start"]), address(pool["end"])
        if a.version != b.version or int(a) > int(b):
            raise InvalidAllocationPool(str(pool))
        out.append(Range(int(a), int(b), a.version))
    return out


def validate_pools(pools: list[Range], cidr: str) -> None:
    """Each pool inside the subnet's host range, of its IP version, and no two overlapping."""
    net = network(cidr)
    lo = int(net.network_address) + 1
    hi = int(net.broadcast_address) - (1 if net.version == 4 else 0)
    for pool in pools:
        if pool.version != net.version:
            raise InvalidAllocationPool(str(pool))
        if pool.first < lo or pool.last > hi:
            raise OutOfBoundsAllocationPool(str(pool), str(net))
    for i, left in enumerate(pools):
        for right in pools[i + 1:]:
            if left.first <= right.last and right.first <= left.last:
                raise OverlappingAllocationPools(str(left), str(right), str(net))


def check_gateway_outside_pools(gateway: str, pools: Iterable[Range]) -> None:
    gw = int(address(gateway))
    for pool in pools:
        if gw in pool:
            raise GatewayConflictWithAllocationPools(gateway, str(pool))


def is_auto_address(ra_mode: str | None, address_mode: str | None) -> bool:
    """SLAAC and DHCPv6-stateless subnets: hosts make their own (EUI-64) addresses."""
    return address_mode in AUTO_ADDRESS_MODES or ra_mode in AUTO_ADDRESS_MODES


def eui64(cidr: str, mac: str) -> str:
    """The modified EUI-64 address of ``mac`` in the /64 ``cidr`` (RFC 4291 appendix A)."""
    octets = [int(x, 16) for x in mac.replace("-", ":").split(":")]
    octets[0] ^= 0x02
    iid = octets[:3] + [0xFF, 0xFE] + octets[3:]
    net = network(cidr)
    value = int(net.network_address) | int.from_bytes(bytes(iid), "big")
    return str(ipaddress.IPv6Address(value))


def is_eui64(ip: str) -> bool:
    addr = address(ip)
    return addr.version == 6 and (int(addr) >> 24) & 0xFFFF == 0xFFFE


def free_addresses(pools: Iterable[Range], used: set[int], limit: int) -> list[int]:
    """Up to ``limit`` free addresses of the pools, lowest first (walks past the used ones)."""
    out: list[int] = []
    for pool in sorted(pools, key=lambda r: r.first):
        value = pool.first
        while value <= pool.last and len(out) < limit:
            if value not in used:
                out.append(value)
            value += 1
        if len(out) >= limit:
            break
    return out


def pools_size(pools: Iterable[Range]) -> int:
    return sum(p.size for p in pools)


def in_pools(pools: Iterable[Range], value: int) -> bool:
    return any(value in p for p in pools)


def cidrs_overlap(a: str, b: str) -> bool:
    na, nb = network(a), network(b)
    return na.version == nb.version and na.overlaps(nb)


def collapse(cidrs: Iterable[str]) -> list[str]:
    """Merge overlapping and adjacent prefixes (netaddr's IPSet.compact), smallest address first."""
    nets = [network(c) for c in cidrs]
    out: list[str] = []
    for version in (4, 6):
        out += [str(n) for n in ipaddress.collapse_addresses([n for n in nets if n.version == version])]
    return out


def subtract(prefixes: Iterable[str], taken: Iterable[str]) -> list[Net]:
    """The free parts of ``prefixes`` once ``taken`` is removed, as a list of networks."""
    free: list[Net] = [network(p) for p in collapse(prefixes)]
    for t in (network(c) for c in taken):
        nxt: list[Net] = []
        for f in free:
            if f.version != t.version or not f.overlaps(t):
                nxt.append(f)
            elif t.supernet_of(f):   # type: ignore[arg-type]
                continue
            else:
                nxt.extend(f.address_exclude(t))   # type: ignore[arg-type]
        free = nxt
    return free


def carve(free: Iterable[Net], prefixlen: int) -> Iterator[Net]:
    """Candidate subnets of ``prefixlen`` from the free blocks, smallest blocks first (Neutron
    takes the first block that fits, preferring the most specific ones)."""
    for block in sorted(free, key=lambda n: (-n.prefixlen, int(n.network_address))):
        if block.prefixlen <= prefixlen:
            yield next(block.subnets(new_prefix=prefixlen))
