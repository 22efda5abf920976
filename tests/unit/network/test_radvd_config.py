"""The router advertisements the L3 agent's radvd sends, from a host-state snapshot."""

from __future__ import annotations

from nubes.network.agent import radvd


def test_radvd_configuration_per_mode():
    """Neutron's radvd settings per ipv6_ra_mode: SLAAC and stateless prefixes autonomous, stateful
    ones on-link only with the Managed flag, stateless with the Other flag; no RA mode, no advert."""
    subnets = {
        "a": {"ip_version": 6, "cidr": "fd00:1::/64", "ipv6_ra_mode": "slaac", "dns_nameservers": ["fd00::53"]},
        "b": {"ip_version": 6, "cidr": "fd00:2::/64", "ipv6_ra_mode": "dhcpv6-stateless", "dns_nameservers": []},
        "c": {"ip_version": 6, "cidr": "fd00:3::/64", "ipv6_ra_mode": "dhcpv6-stateful", "dns_nameservers": []},
        "d": {"ip_version": 6, "cidr": "fd00:4::/64", "ipv6_ra_mode": None, "ipv6_address_mode": "slaac"},
        "e": {"ip_version": 4, "cidr": "10.0.0.0/24"},
    }
    snap = {"subnets": subnets, "networks": {"n": {"mtu": 1450}, "m": {"mtu": 1200}}}
    router = {"interfaces": [
        {"id": "p1" * 8, "network_id": "n", "fixed_ips": [{"subnet_id": "a"}, {"subnet_id": "b"}]},
        {"id": "p2" * 8, "network_id": "n", "fixed_ips": [{"subnet_id": "c"}]},
        {"id": "p3" * 8, "network_id": "m", "fixed_ips": [{"subnet_id": "d"}, {"subnet_id": "e"}]},
    ]}
    ads = radvd.advertised(router, snap)
    assert [(a.device, a.autonomous, a.on_link, a.managed, a.other, a.dns) for a in ads] == [
        ("qr-p1p1p1p1p1p", ["fd00:1::/64", "fd00:2::/64"], [], False, True, ["fd00::53"]),
        ("qr-p2p2p2p2p2p", [], ["fd00:3::/64"], True, False, []),
    ]
    text = radvd.config(ads, 30, 100)
    assert text.count("interface ") == 2 and "MinRtrAdvInterval 30;" in text and "MaxRtrAdvInterval 100;" in text
    assert radvd.config(radvd.advertised({"interfaces": router["interfaces"][2:]}, snap), 30, 100) == ""
