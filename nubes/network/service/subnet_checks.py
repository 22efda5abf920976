"""The checks a subnet's attributes get on create and update (Neutron's ``_validate_subnet``).

Pure functions over the request values: IP versions of every address, DHCP-compatible prefixes,
a gateway that is not the network or broadcast address, the DNS server and host route limits,
and IPv6 RA/address mode consistency. Each failure is Neutron's error with Neutron's words.
"""

from __future__ import annotations

from typing import Any

from nubes.network.exceptions import DNSNameServersExhausted, HostRoutesExhausted, InvalidInput
from nubes.network.service import addresses

NOT_SET: Any = object()   # gateway_ip absent from the request (None means "no gateway")


def check_version(ip_version: int, value: str, name: str) -> None:
    if addresses.network(value).version != ip_version:
        raise InvalidInput(f"{name} '{value}' does not match the ip_version '{ip_version}'")


def validate(spec: dict[str, Any], conf: Any, current: Any = None) -> None:
    """``spec`` holds ip_version and cidr plus whatever the request sets; ``current`` is the
    stored subnet on update (its id names it in the limit errors)."""
    version = spec["ip_version"]
    cidr = spec["cidr"]
    check_version(version, cidr, "cidr")
    net = addresses.network(cidr)
    dhcp_was = bool(current.enable_dhcp) if current is not None else False
    if spec.get("enable_dhcp") and not dhcp_was:
        if (version == 4 and net.prefixlen > 30) or (version == 6 and net.prefixlen > 126):
            raise InvalidInput("Subnet has a prefix length that is incompatible with DHCP service enabled")
        if net.is_multicast:
            raise InvalidInput("Multicast IP subnet is not supported if enable_dhcp is True")
        if net.is_loopback:
            raise InvalidInput("Loopback IP subnet is not supported if enable_dhcp is True")
        if version == 4 and int(net.network_address) == 0:
            raise InvalidInput("First IP '0.0.0.0' of network is not supported if enable_dhcp is True.")
    gateway = spec.get("gateway_ip", NOT_SET)
    if gateway is not NOT_SET and gateway is not None:
        check_version(version, gateway, "gateway_ip")
        if addresses.gateway_invalid(cidr, gateway):
            raise InvalidInput("Gateway is not valid on subnet")
    subnet_label = current.id if current is not None else "new subnet"
    dns = spec.get("dns_nameservers")
    if dns:
        if len(dns) > conf.max_dns_nameservers:
            raise DNSNameServersExhausted(subnet_label, conf.max_dns_nameservers)
        for server in dns:
            check_version(version, server, "dns_nameserver")
    routes = spec.get("host_routes")
    if routes:
        if len(routes) > conf.max_subnet_host_routes:
            raise HostRoutesExhausted(subnet_label, conf.max_subnet_host_routes)
        for route in routes:
            check_version(version, route["nexthop"], "nexthop")
            check_version(version, route["destination"], "destination")
    ra, mode = spec.get("ipv6_ra_mode"), spec.get("ipv6_address_mode")
    if version == 4:
        if ra is not None:
            raise InvalidInput("ipv6_ra_mode is not valid when ip_version is 4")
        if mode is not None:
            raise InvalidInput("ipv6_address_mode is not valid when ip_version is 4")
        return
    if current is not None:
        if "enable_dhcp" in spec and not spec["enable_dhcp"] and (
                current.ipv6_ra_mode or current.ipv6_address_mode):
            raise InvalidInput("Cannot disable enable_dhcp with ipv6 attributes set")
        return
    if (ra is not None or mode is not None) and not spec.get("enable_dhcp", True):
        raise InvalidInput("ipv6_ra_mode or ipv6_address_mode cannot be set when enable_dhcp is set to False")
    if ra is not None and mode is not None and ra != mode:
        raise InvalidInput(f"ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{mode}' is not valid. "
                           "If both attributes are set, they must be the same value")
    if addresses.is_auto_address(ra, mode) and net.prefixlen != 64:
        raise InvalidInput(f"Invalid CIDR {cidr} for IPv6 address mode. OpenStack uses the EUI-64 address "
                           "format, which requires the prefix to be /64")


def check_cidr_on_network(cidr: str, others: list[Any], network_id: str) -> None:
    """No /0, and no overlap with another subnet of the same network."""
    if addresses.network(cidr).prefixlen == 0:
        raise InvalidInput("0 is not allowed as CIDR prefix length")
    for other in others:
        if addresses.cidrs_overlap(other.cidr, cidr):
            raise InvalidInput(f"Requested subnet with cidr: {cidr} for network: {network_id} overlaps with "
                               "another subnet")


def prepare_pools(requested: list[dict[str, str]] | None, cidr: str,
                  gateway: str | None) -> list[addresses.Range]:
    """The pools a new subnet gets: the requested ones (checked) or the default ones."""
    if requested is None:
        return addresses.generate_pools(cidr, gateway)
    pools = addresses.parse_pools(requested)
    addresses.validate_pools(pools, cidr)
    if gateway:
        addresses.check_gateway_outside_pools(gateway, pools)
    return pools
