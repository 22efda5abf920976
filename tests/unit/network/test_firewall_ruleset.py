"""The security group ruleset builder: Neutron's firewall semantics as nftables text (pure, no root)."""

from __future__ import annotations

from nubes.network.agent import firewall as fw

PORT_ID = "aaaaaaaa-1111-2222-3333-444444444444"
DEV = "tapaaaaaaaa-11"


def port(**over):
    base = {"id": PORT_ID, "network_id": "net-1", "mac_address": "fa:16:3e:00:00:01", "device_owner": "compute:nova",
            "port_security_enabled": True, "fixed_ips": [{"subnet_id": "s4", "ip_address": "10.0.0.5"}],
            "allowed_address_pairs": [], "security_groups": ["sg"]}
    return {**base, **over}


def rule(**over):
    return {"id": "r", "direction": "ingress", "ethertype": "IPv4", "protocol": None, "port_range_min": None,
            "port_range_max": None, "remote_ip_prefix": None, "remote_group_id": None, **over}


def build(ports, rules=(), members=None):
    return fw.ruleset(ports, ["net-1"], {"sg": {"id": "sg", "rules": list(rules)}}, members or {})


def chain(text: str, name: str, family: str = "bridge") -> list[str]:
    lines = text.splitlines()
    table = lines.index(f"table {family} {fw.TABLE} {{")
    start = lines.index(f"\tchain {name} {{", table)
    end = lines.index("\t}", start)
    return [line.strip() for line in lines[start + 1:end]]


def test_names_follow_neutron():
    assert fw.device_name(PORT_ID) == DEV and fw.bridge_name("0123456789abcdef") == "brq0123456789a"
    assert 1 <= fw.conntrack_zone("net-1") <= 65000 and fw.conntrack_zone("net-1") == fw.conntrack_zone("net-1")
    assert fw.link_local("fa:16:3e:00:00:01") == "fe80::f816:3eff:fe00:1"


def test_the_text_replaces_both_tables_in_one_transaction():
    text = build([port()]).text
    assert text.startswith(f"table bridge {fw.TABLE}\ndelete table bridge {fw.TABLE}\ntable bridge {fw.TABLE} {{")
    assert f"table inet {fw.TABLE}\ndelete table inet {fw.TABLE}\ntable inet {fw.TABLE} {{" in text
    assert fw.removal().count("delete table") == 2


def test_egress_and_ingress_chains_have_the_fixed_rules_around_the_groups():
    text = build([port()], [rule(protocol="tcp", port_range_min=22, port_range_max=22),
                            rule(id="e", direction="egress")]).text
    egress, ingress = chain(text, f"egress-{DEV}"), chain(text, f"ingress-{DEV}")
    assert egress[0] == "meta nfproto ipv4 udp sport 68 udp dport 67 return"        # DHCP client
    assert "meta nfproto ipv4 udp sport 67 udp dport 68 drop" in egress              # no DHCP server
    assert "icmpv6 type 134 drop" in egress                                          # no router advertisements
    assert egress[-4:] == ["ct state established,related return", "meta nfproto ipv4 return",
                           "ct state invalid drop", "drop"]
    assert ingress[-4:] == ["ct state established,related return", "meta nfproto ipv4 tcp dport 22 return",
                            "ct state invalid drop", "drop"]
    assert "meta nfproto ipv4 udp sport 67 udp dport 68 return" in ingress            # DHCP replies


def test_rule_matches():
    m = fw.rule_match
    assert m(rule(protocol="tcp", port_range_min=1000, port_range_max=2000), "ingress") == \
        "meta nfproto ipv4 tcp dport 1000-2000"
    assert m(rule(protocol="udp"), "egress") == "meta nfproto ipv4 meta l4proto 17"
    assert m(rule(protocol="icmp", port_range_min=8, port_range_max=0), "ingress") == \
        "meta nfproto ipv4 icmp type 8 icmp code 0"
    assert m(rule(protocol="icmp"), "ingress") == "meta nfproto ipv4 meta l4proto 1"
    assert m(rule(ethertype="IPv6", protocol="icmp", port_range_min=128), "ingress") == \
        "meta nfproto ipv6 icmpv6 type 128"          # Neutron's legacy icmp on IPv6 is ICMPv6
    assert m(rule(protocol="132", port_range_min=5, port_range_max=5), "ingress") == "meta nfproto ipv4 sctp dport 5"
    assert m(rule(protocol="udplite", port_range_min=5, port_range_max=6), "ingress") == \
        "meta nfproto ipv4 meta l4proto 136 th dport 5-6"
    assert m(rule(protocol="gre"), "ingress") == "meta nfproto ipv4 meta l4proto 47"
    assert m(rule(protocol="0"), "ingress") == "meta nfproto ipv4"
    assert m(rule(remote_ip_prefix="192.0.2.7/24"), "ingress") == "meta nfproto ipv4 ip saddr 192.0.2.0/24"
    assert m(rule(direction="egress", remote_ip_prefix="198.51.100.0/24"), "egress") == \
        "meta nfproto ipv4 ip daddr 198.51.100.0/24"
    assert m(rule(remote_ip_prefix="0.0.0.0/0"), "ingress") == "meta nfproto ipv4"
    assert m(rule(remote_group_id="g"), "ingress") == "meta nfproto ipv4 ip saddr @rg4-g"
    assert m(rule(ethertype="IPv6", remote_group_id="g"), "ingress") == "meta nfproto ipv6 ip6 saddr @rg6-g"


def test_remote_groups_are_named_sets_of_their_members():
    text = build([port()], [rule(remote_group_id="sg"), rule(id="6", ethertype="IPv6", remote_group_id="sg")],
                 {"sg": ["10.0.0.5", "10.0.0.7", "2001:db8::5"]}).text
    assert "\tset rg4-sg {\n\t\ttype ipv4_addr; flags interval; elements = { 10.0.0.5, 10.0.0.7 }\n\t}" in text
    assert "\tset rg6-sg {\n\t\ttype ipv6_addr; flags interval; elements = { 2001:db8::5 }\n\t}" in text
    empty = build([port()], [rule(remote_group_id="sg")], {"sg": []}).text
    assert "\tset rg4-sg {\n\t\ttype ipv4_addr; flags interval;\n\t}" in empty


def test_duplicate_rules_of_several_groups_are_one():
    groups = {"a": {"rules": [rule(id="1", protocol="tcp", port_range_min=80, port_range_max=80)]},
              "b": {"rules": [rule(id="2", protocol="6", port_range_min=80, port_range_max=80)]}}
    assert fw.port_rules(port(security_groups=["a", "b"]), groups, "ingress") == ["meta nfproto ipv4 tcp dport 80"]


def test_anti_spoofing_allows_the_port_and_its_address_pairs_only():
    p = port(allowed_address_pairs=[{"ip_address": "10.0.0.0/28", "mac_address": "fa:16:3e:00:00:01"},
                                    {"ip_address": "192.0.2.9", "mac_address": "fa:16:3e:00:00:99"}],
             fixed_ips=[{"subnet_id": "s4", "ip_address": "10.0.0.5"}, {"subnet_id": "s6", "ip_address": "2001:db8::5"}])
    text = build([p]).text
    assert chain(text, f"from-{DEV}")[0] == "ether saddr != { fa:16:3e:00:00:01, fa:16:3e:00:00:99 } drop"
    ip4 = chain(text, f"ip4-{DEV}")
    assert ip4 == ["ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 return",
                   "ether saddr fa:16:3e:00:00:01 ip saddr { 10.0.0.0/28 } return",     # 10.0.0.5 is inside
                   "ether saddr fa:16:3e:00:00:99 ip saddr { 192.0.2.9 } return", "drop"]
    arp = chain(text, f"arp-{DEV}")
    assert "arp saddr ether fa:16:3e:00:00:01 arp saddr ip { 0.0.0.0, 10.0.0.0/28 } return" in arp and arp[-1] == "drop"
    ip6 = chain(text, f"ip6-{DEV}")
    assert "ether saddr fa:16:3e:00:00:01 ip6 saddr { 2001:db8::5, fe80::f816:3eff:fe00:1 } return" in ip6


def test_a_port_without_addresses_may_use_any_from_its_mac():
    text = build([port(fixed_ips=[])]).text
    assert "ether saddr fa:16:3e:00:00:01 return" in chain(text, f"ip4-{DEV}")
    assert "arp saddr ether fa:16:3e:00:00:01 return" in chain(text, f"arp-{DEV}")


def test_unfiltered_ports_pass_and_unknown_taps_get_nothing():
    dhcp = port(id="dddddddd-0000", device_owner="network:dhcp", security_groups=[])
    open_port = port(id="eeeeeeee-0000", port_security_enabled=False, security_groups=[])
    r = build([port(), dhcp, open_port])
    assert r.filtered == [PORT_ID] and r.unfiltered == ["dddddddd-0000", "eeeeeeee-0000"]
    pre = chain(r.text, "prerouting")
    assert '"tapdddddddd-00" : accept' in pre[1] and '"tapeeeeeeee-00" : accept' in pre[1]
    assert f'"{DEV}" : goto from-{DEV}' in pre[1] and pre[2] == 'iifname "tap*" drop'
    assert "egress-tapdddddddd-00" not in r.text


def test_ports_are_marked_in_the_bridge_and_dispatched_in_inet():
    other = port(id="bbbbbbbb-0000", mac_address="fa:16:3e:00:00:02",
                 fixed_ips=[{"subnet_id": "s4", "ip_address": "10.0.0.6"}])
    text = build([other, port()]).text            # sorted by id: PORT_ID is 1, the other 2
    assert "meta mark set 0x00000001" in chain(text, f"from-{DEV}")
    assert "meta mark set meta mark and 0x0000ffff or 0x00020000" in chain(text, "to-tapbbbbbbbb-00")
    forward = chain(text, "forward", "inet")
    assert forward[1] == (f"meta mark and 0x0000ffff vmap {{ 0x00000001 : jump egress-{DEV}, "
                          "0x00000002 : jump egress-tapbbbbbbbb-00 }")
    assert forward[2].startswith(f"meta mark and 0xffff0000 vmap {{ 0x00010000 : jump ingress-{DEV}")
    assert chain(text, "prerouting", "inet")[-1].startswith('ct zone set iifname map { "brqnet-1" : ')


def test_a_port_whose_data_cannot_be_expressed_is_rejected_alone():
    r = build([port(), port(id="cccccccc-0000", fixed_ips=[{"subnet_id": "x", "ip_address": "not-an-ip"}])])
    assert r.filtered == [PORT_ID] and "cccccccc-0000" in r.rejected


def test_the_same_state_gives_the_same_text():
    rules = [rule(id=str(i), protocol="tcp", port_range_min=i, port_range_max=i) for i in range(1, 20)]
    assert build([port()], rules).text == build([port()], list(reversed(rules))).text
