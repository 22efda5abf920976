"""Security group rule values as Neutron checks them: protocols, ports, ICMP, ethertypes, prefixes, duplicates."""

from __future__ import annotations

import pytest

from nubes.network.service import security_group_rule_values as rv


def rule(**kw):
    base = {"security_group_id": "sg", "direction": "ingress", "ethertype": "IPv4", "protocol": None,
            "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
            "remote_group_id": None}
    return {**base, **kw}


def test_protocol_names_and_numbers():
    assert rv.protocol("TCP") == "tcp"
    assert rv.protocol(6) == "6" and rv.protocol("17") == "17" and rv.protocol(0) == "0"
    assert rv.protocol(None) is None and rv.protocol("any") is None
    for name in ("ah", "esp", "gre", "sctp", "icmpv6", "ipv6-icmp", "udplite", "vrrp"):
        assert rv.protocol(name) == name
    for bad in ("foo", 256, -1, True, "", 3.5, ["tcp"]):
        with pytest.raises(rv.SecurityGroupRuleInvalidProtocol) as err:
            rv.protocol(bad)
        assert err.value.status == 400 and err.value.neutron_type == "SecurityGroupRuleInvalidProtocol"
        assert "integer representations [0 to 255] are supported" in err.value.message


def test_port_values_and_ethertypes():
    assert rv.port("22") == 22 and rv.port(0) == 0 and rv.port(65535) == 65535 and rv.port(None) is None
    for bad in (65536, -1, "x", True, 1.5):
        with pytest.raises(rv.SecurityGroupInvalidPortValue, match="Invalid value for port"):
            rv.port(bad)
    assert rv.ethertype("ipv6") == "IPv6" and rv.ethertype("IPV4") == "IPv4"
    with pytest.raises(rv.SecurityGroupRuleInvalidEtherType, match="Allowed values are"):
        rv.ethertype("IPv5")


def test_remote_prefix_keeps_the_address_and_shows_the_network():
    assert rv.remote_ip_prefix("10.0.0.5/24") == "10.0.0.5/24"
    assert rv.normalized_cidr("10.0.0.5/24") == "10.0.0.0/24"
    assert rv.remote_ip_prefix("10.0.0.5") == "10.0.0.5/32"
    assert rv.remote_ip_prefix("2001:db8::1/64") == "2001:db8::1/64"
    assert rv.normalized_cidr("2001:db8::1/64") == "2001:db8::/64"
    assert rv.remote_ip_prefix(None) is None
    for bad in ("10.0.0.300/24", "nope", "10.0.0.0/33", 5):
        with pytest.raises(rv.InvalidCIDR, match="given as IP prefix"):
            rv.remote_ip_prefix(bad)


def test_port_ranges_need_a_port_protocol_in_order():
    rv.check(rule(protocol="tcp", port_range_min=22, port_range_max=22))
    rv.check(rule(protocol="6", port_range_min=1, port_range_max=65535))
    rv.check(rule(protocol="sctp", port_range_min=5, port_range_max=9))
    with pytest.raises(rv.SecurityGroupInvalidPortRange, match="port_range_min must be <= port_range_max"):
        rv.check(rule(protocol="tcp", port_range_min=30, port_range_max=20))
    with pytest.raises(rv.SecurityGroupInvalidPortRange):
        rv.check(rule(protocol="udp", port_range_min=30))
    with pytest.raises(rv.SecurityGroupInvalidPortValue, match="Invalid value for port 0"):
        rv.check(rule(protocol="tcp", port_range_min=0, port_range_max=10))
    with pytest.raises(rv.SecurityGroupProtocolRequiredWithPorts, match="Must also specify protocol"):
        rv.check(rule(port_range_min=22, port_range_max=22))
    with pytest.raises(rv.SecurityGroupInvalidProtocolForPort) as err:
        rv.check(rule(protocol="gre", port_range_min=1, port_range_max=2))
    assert err.value.message == ("Ports cannot be specified for protocol 47. "
                                 "Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE.")


def test_icmp_type_and_code():
    rv.check(rule(protocol="icmp", port_range_min=8, port_range_max=0))
    rv.check(rule(protocol="icmp", port_range_min=8))
    rv.check(rule(protocol="icmp", port_range_min=0, port_range_max=255))
    with pytest.raises(rv.SecurityGroupInvalidIcmpValue) as err:
        rv.check(rule(protocol="icmp", port_range_min=300))
    assert err.value.message == "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."
    with pytest.raises(rv.SecurityGroupInvalidIcmpValue, match=r"ICMP code \(port_range_max\) 256"):
        rv.check(rule(protocol="1", port_range_min=3, port_range_max=256))
    with pytest.raises(rv.SecurityGroupMissingIcmpType, match="ICMP code .* 4 is provided"):
        rv.check(rule(protocol="icmp", port_range_max=4))


def test_ethertype_consistency():
    with pytest.raises(rv.SecurityGroupRuleParameterConflict) as err:
        rv.check(rule(ethertype="IPv6", remote_ip_prefix="10.0.0.0/8"))
    assert err.value.message == "Conflicting value ethertype IPv6 for CIDR 10.0.0.0/8"
    with pytest.raises(rv.SecurityGroupRuleParameterConflict):
        rv.check(rule(ethertype="IPv4", remote_ip_prefix="::/0"))
    with pytest.raises(rv.SecurityGroupEthertypeConflictWithProtocol, match="Invalid ethertype IPv4 for protocol"):
        rv.check(rule(protocol="ipv6-icmp"))
    with pytest.raises(rv.SecurityGroupEthertypeConflictWithProtocol):
        rv.check(rule(protocol="58"))
    with pytest.raises(rv.SecurityGroupMultipleRemoteEntites):
        rv.check(rule(remote_ip_prefix="10.0.0.0/8", remote_group_id="other"))


def test_ipv6_icmp_is_made_canonical():
    assert rv.canonical(rule(ethertype="IPv6", protocol="icmp"))["protocol"] == "ipv6-icmp"
    assert rv.canonical(rule(ethertype="IPv6", protocol="icmpv6"))["protocol"] == "ipv6-icmp"
    assert rv.canonical(rule(ethertype="IPv6", protocol="1"))["protocol"] == "58"
    assert rv.canonical(rule(ethertype="IPv4", protocol="icmp"))["protocol"] == "icmp"


def test_duplicates_however_spelt():
    a = rule(protocol="tcp", port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0")
    assert rv.key(a) == rv.key(rule(protocol="6", port_range_min=22, port_range_max=22))
    assert rv.key(rule(remote_ip_prefix="10.1.2.3/8")) == rv.key(rule(remote_ip_prefix="10.0.0.0/8"))
    assert rv.key(rule(ethertype="IPv6", protocol="ipv6-icmp")) == rv.key(rule(ethertype="IPv6", protocol="58"))
    assert rv.key(rule(ethertype="IPv6", protocol="icmpv6")) == rv.key(rule(ethertype="IPv6", protocol="58"))
    assert rv.key(rule(ethertype="IPv6", remote_ip_prefix="::/0")) == rv.key(rule(ethertype="IPv6"))
    assert rv.key(a) != rv.key({**a, "direction": "egress"})
    assert rv.key(a) != rv.key({**a, "port_range_max": 23})
    assert rv.key(rule(remote_ip_prefix="10.0.0.0/8")) != rv.key(rule(remote_ip_prefix="10.0.0.0/16"))
