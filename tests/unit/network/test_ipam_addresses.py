"""Address arithmetic: default pools, pool checks, gateway rules, EUI-64, prefix carving, MACs."""

from __future__ import annotations

import pytest

from nubes.network import exceptions as exc
from nubes.network.service import addresses as a
from nubes.network.service import macs, subnet_checks
from nubes.network.service.subnetpools import read_spec


def ranges(pools):
    return [str(p) for p in pools]


def test_default_pools_skip_network_broadcast_and_gateway():
    assert ranges(a.generate_pools("10.0.0.0/24", "10.0.0.1")) == ["10.0.0.2-10.0.0.254"]
    assert ranges(a.generate_pools("10.0.0.0/24", "10.0.0.100")) == ["10.0.0.1-10.0.0.99", "10.0.0.101-10.0.0.254"]
    assert ranges(a.generate_pools("10.0.0.0/24", None)) == ["10.0.0.1-10.0.0.254"]
    assert ranges(a.generate_pools("10.0.0.0/24", "192.168.0.1")) == ["10.0.0.1-10.0.0.254"]
    assert ranges(a.generate_pools("10.0.0.0/30", "10.0.0.1")) == ["10.0.0.2-10.0.0.2"]
    assert a.generate_pools("10.0.0.0/31", None) == []
    assert ranges(a.generate_pools("10.0.0.7/32", None)) == ["10.0.0.7-10.0.0.7"]
    # IPv6 has no broadcast address: the pool runs to the last address
    assert ranges(a.generate_pools("2001:db8::/64", "2001:db8::1")) == ["2001:db8::2-2001:db8::ffff:ffff:ffff:ffff"]


def test_pool_validation_errors():
    cidr = "10.0.0.0/24"
    a.validate_pools(a.parse_pools([{"start": "10.0.0.2", "end": "10.0.0.9"}]), cidr)
    with pytest.raises(exc.InvalidAllocationPool):
        a.parse_pools([{"start": "10.0.0.9", "end": "10.0.0.2"}])
    with pytest.raises(exc.OutOfBoundsAllocationPool) as e:
        a.validate_pools(a.parse_pools([{"start": "10.0.0.200", "end": "10.0.1.5"}]), cidr)
    assert e.value.message == "The allocation pool 10.0.0.200-10.0.1.5 spans beyond the subnet cidr 10.0.0.0/24."
    with pytest.raises(exc.OutOfBoundsAllocationPool):
        a.validate_pools(a.parse_pools([{"start": "10.0.0.0", "end": "10.0.0.5"}]), cidr)
    with pytest.raises(exc.OutOfBoundsAllocationPool):    # the broadcast address
        a.validate_pools(a.parse_pools([{"start": "10.0.0.250", "end": "10.0.0.255"}]), cidr)
    with pytest.raises(exc.OverlappingAllocationPools) as e:
        a.validate_pools(a.parse_pools([{"start": "10.0.0.2", "end": "10.0.0.9"},
                                        {"start": "10.0.0.9", "end": "10.0.0.20"}]), cidr)
    assert e.value.status == 409
    with pytest.raises(exc.InvalidAllocationPool):
        a.validate_pools(a.parse_pools([{"start": "fd00::2", "end": "fd00::9"}]), cidr)
    with pytest.raises(exc.GatewayConflictWithAllocationPools) as e:
        a.check_gateway_outside_pools("10.0.0.5", a.parse_pools([{"start": "10.0.0.2", "end": "10.0.0.9"}]))
    assert e.value.message == "Gateway ip 10.0.0.5 conflicts with allocation pool 10.0.0.2-10.0.0.9."


def test_gateway_and_fixed_ip_rules():
    assert a.gateway_invalid("10.0.0.0/24", "10.0.0.0") and a.gateway_invalid("10.0.0.0/24", "10.0.0.255")
    assert not a.gateway_invalid("10.0.0.0/24", "10.0.0.1")
    assert not a.gateway_invalid("10.0.0.0/24", "192.0.2.1")   # off-subnet gateways are allowed
    assert a.ip_in_subnet("10.0.0.0/24", "10.0.0.1")
    assert not a.ip_in_subnet("10.0.0.0/24", "10.0.0.0") and not a.ip_in_subnet("10.0.0.0/24", "10.0.0.255")
    assert not a.ip_in_subnet("10.0.0.0/24", "10.0.1.1") and not a.ip_in_subnet("10.0.0.0/24", "fd00::1")
    assert not a.ip_in_subnet("fd00::/64", "fd00::")
    assert a.ip_in_subnet("fd00::/64", "fd00::", "network:router_interface")
    assert a.normalize("10.0.0.5/24") == "10.0.0.0/24"


def test_eui64_from_mac():
    assert a.eui64("2001:db8::/64", "fa:16:3e:11:22:33") == "2001:db8::f816:3eff:fe11:2233"
    assert a.is_eui64("2001:db8::f816:3eff:fe11:2233") and not a.is_eui64("2001:db8::5")


def test_free_addresses_walks_past_used_ones():
    pools = a.parse_pools([{"start": "10.0.0.10", "end": "10.0.0.12"}, {"start": "10.0.0.20", "end": "10.0.0.21"}])
    base = int(a.address("10.0.0.0"))
    used = {base + 10, base + 12}
    assert [v - base for v in a.free_addresses(pools, used, 10)] == [11, 20, 21]
    assert [v - base for v in a.free_addresses(pools, used, 2)] == [11, 20]
    assert a.free_addresses(pools, {base + i for i in (10, 11, 12, 20, 21)}, 5) == []
    assert a.pools_size(pools) == 5


def test_prefix_subtraction_and_carving():
    free = a.subtract(["10.10.0.0/16"], ["10.10.0.0/26", "10.10.0.128/25"])
    assert sorted(str(n) for n in free) == ["10.10.0.64/26", "10.10.1.0/24", "10.10.128.0/17",
                                             "10.10.16.0/20", "10.10.2.0/23", "10.10.32.0/19",
                                             "10.10.4.0/22", "10.10.64.0/18", "10.10.8.0/21"]
    assert str(next(a.carve(free, 26))) == "10.10.0.64/26"    # the most specific free block first
    assert str(next(a.carve(free, 24))) == "10.10.1.0/24"
    assert list(a.carve(a.subtract(["10.10.0.0/24"], ["10.10.0.0/24"]), 26)) == []
    assert a.collapse(["10.0.0.0/25", "10.0.0.128/25", "10.0.1.0/24"]) == ["10.0.0.0/23"]


def test_subnetpool_spec_defaults_and_bounds():
    spec = read_spec({"prefixes": ["10.0.0.0/16", "10.1.0.0/16"]})
    assert spec == {"ip_version": 4, "prefixes": ["10.0.0.0/15"], "default_quota": None,
                    "min_prefixlen": 8, "max_prefixlen": 32, "default_prefixlen": 8}
    assert read_spec({"prefixes": ["fd00::/48"]})["min_prefixlen"] == 64
    with pytest.raises(exc.EmptySubnetPoolPrefixList):
        read_spec({"prefixes": []})
    with pytest.raises(exc.PrefixVersionMismatch):
        read_spec({"prefixes": ["10.0.0.0/8", "fd00::/8"]})
    with pytest.raises(exc.IllegalSubnetPoolPrefixBounds) as e:
        read_spec({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 24, "max_prefixlen": 20})
    assert e.value.message == "Illegal prefix bounds: min_prefixlen=24, max_prefixlen=20."
    with pytest.raises(exc.IllegalSubnetPoolPrefixBounds):
        read_spec({"prefixes": ["10.0.0.0/8"], "max_prefixlen": 33})
    with pytest.raises(exc.IllegalSubnetPoolPrefixBounds):
        read_spec({"prefixes": ["10.0.0.0/8"], "min_prefixlen": 16, "default_prefixlen": 12})


class Conf:
    max_dns_nameservers = 2
    max_subnet_host_routes = 1


def test_subnet_checks():
    ok = {"ip_version": 4, "cidr": "10.0.0.0/24", "enable_dhcp": True}
    subnet_checks.validate(ok, Conf())
    cases = [
        ({**ok, "cidr": "fd00::/64"}, "cidr 'fd00::/64' does not match the ip_version '4'"),
        ({**ok, "cidr": "10.0.0.0/31"}, "Subnet has a prefix length that is incompatible with DHCP"),
        ({**ok, "gateway_ip": "10.0.0.255"}, "Gateway is not valid on subnet"),
        ({**ok, "dns_nameservers": ["1.1.1.1", "8.8.8.8", "9.9.9.9"]}, "exceeds the limit 2"),
        ({**ok, "host_routes": [{"destination": "fd00::/64", "nexthop": "10.0.0.9"}]},
         "destination 'fd00::/64' does not match the ip_version '4'"),
        ({**ok, "ipv6_ra_mode": "slaac"}, "ipv6_ra_mode is not valid when ip_version is 4"),
        ({"ip_version": 6, "cidr": "fd00::/80", "ipv6_address_mode": "slaac"}, "requires the prefix to be /64"),
        ({"ip_version": 6, "cidr": "fd00::/64", "ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"},
         "If both attributes are set, they must be the same value"),
        ({"ip_version": 6, "cidr": "fd00::/64", "ipv6_ra_mode": "slaac", "enable_dhcp": False},
         "cannot be set when enable_dhcp is set to False"),
    ]
    for spec, words in cases:
        with pytest.raises(exc.BadRequest) as e:
            subnet_checks.validate(spec, Conf())
        assert words in e.value.message, (spec, e.value.message)
    subnet_checks.validate({**ok, "cidr": "10.0.0.0/31", "enable_dhcp": False}, Conf())


def test_macs_keep_the_base_prefix():
    mac = macs.random_mac("fa:16:3e:00:00:00")
    assert mac.startswith("fa:16:3e:") and len(mac) == 17
    assert macs.random_mac("fa:16:3e:4f:00:00").startswith("fa:16:3e:4f:")
    assert len({macs.random_mac("fa:16:3e:00:00:00") for _ in range(100)}) == 100
