"""Subnets through the openstack CLI and raw HTTP: the installation guide's subnets, IPv6 modes,
CIDR, gateway, pool, DNS and route rules, updates, deletes refused while ports hold addresses."""

from __future__ import annotations

from tests.functional.network.conftest import unique


def subnet_body(network_id, cidr, **kw):
    return {"subnet": {"network_id": network_id, "ip_version": 6 if ":" in cidr else 4, "cidr": cidr, **kw}}


def test_install_guide_provider_subnet(net_cloud, api, member):
    provider = net_cloud.osc("network", "create", "--share", "--external", "--provider-physical-network",
                             "provider", "--provider-network-type", "flat", unique("provider"))
    try:
        sub = net_cloud.osc("subnet", "create", "--network", provider["id"], "--allocation-pool",
                            "start=203.0.113.101,end=203.0.113.250", "--dns-nameserver", "8.8.4.4",
                            "--gateway", "203.0.113.1", "--subnet-range", "203.0.113.0/24", "provider")
        assert sub["cidr"] == "203.0.113.0/24" and sub["gateway_ip"] == "203.0.113.1"
        assert sub["allocation_pools"] == [{"start": "203.0.113.101", "end": "203.0.113.250"}]
        assert sub["dns_nameservers"] == ["8.8.4.4"] and sub["enable_dhcp"] is True and sub["ip_version"] == 4
        net = net_cloud.osc("network", "show", provider["id"])
        assert net["subnets"] == [sub["id"]] and net["revision_number"] == provider["revision_number"] + 1
        # the shared external network's subnet is visible to other projects, but only its owner adds subnets
        assert sub["id"] in {s["ID"] for s in member.osc("subnet", "list")}
        r = member.api("POST", "/subnets", json=subnet_body(provider["id"], "198.51.100.0/24"))
        assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
        r = member.api("DELETE", f"/subnets/{sub['id']}")
        assert r.status_code == 403
    finally:
        net_cloud.osc("network", "delete", provider["id"], json_out=False)
    assert api("GET", f"/subnets/{sub['id']}").status_code == 404


def test_install_guide_selfservice_subnet(member):
    net = member.osc("network", "create", unique("selfservice"))
    sub = member.osc("subnet", "create", "--network", net["id"], "--dns-nameserver", "8.8.4.4",
                     "--gateway", "172.16.1.1", "--subnet-range", "172.16.1.0/24", "selfservice")
    assert sub["allocation_pools"] == [{"start": "172.16.1.2", "end": "172.16.1.254"}]
    assert sub["project_id"] == member.project_id and sub["subnetpool_id"] is None
    shown = member.osc("subnet", "show", sub["id"])
    assert shown["gateway_ip"] == "172.16.1.1" and shown["dns_nameservers"] == ["8.8.4.4"]
    rows = member.osc("subnet", "list", "--network", net["id"], "--ip-version", "4")
    assert [r["ID"] for r in rows] == [sub["id"]] and rows[0]["Subnet"] == "172.16.1.0/24"
    member.osc("subnet", "delete", sub["id"], json_out=False)
    member.osc("network", "delete", net["id"], json_out=False)


def test_ipv6_slaac_subnet_and_mode_rules(net_cloud, api):
    net = api.create("network", name=unique("v6"))
    sub = net_cloud.osc("subnet", "create", "--network", net["id"], "--ip-version", "6", "--ipv6-ra-mode",
                        "slaac", "--ipv6-address-mode", "slaac", "--subnet-range", "fd00:10::/64", unique("slaac"))
    assert sub["ipv6_ra_mode"] == "slaac" and sub["ipv6_address_mode"] == "slaac"
    assert sub["gateway_ip"] == "fd00:10::1"
    assert sub["allocation_pools"] == [{"start": "fd00:10::2", "end": "fd00:10::ffff:ffff:ffff:ffff"}]
    bad = [
        ({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateful"}, "fd00:11::/64",
         "they must be the same value"),
        ({"ipv6_address_mode": "slaac"}, "fd00:12::/80", "which requires the prefix to be /64"),
        ({"ipv6_ra_mode": "dhcpv6-stateless", "enable_dhcp": False}, "fd00:13::/64",
         "cannot be set when enable_dhcp is set to False"),
        ({"ipv6_ra_mode": "slaac"}, "10.77.0.0/24", "ipv6_ra_mode is not valid when ip_version is 4"),
        ({"ipv6_address_mode": "stateful"}, "fd00:14::/64", "Invalid input for ipv6_address_mode"),
    ]
    for extra, cidr, words in bad:
        r = api("POST", "/subnets", json=subnet_body(net["id"], cidr, **extra))
        err = api.error(r, 400)
        assert words in err["message"], err
    stateful = api("POST", "/subnets", json=subnet_body(net["id"], "fd00:15::/64", ipv6_ra_mode="dhcpv6-stateful",
                                                         ipv6_address_mode="dhcpv6-stateful"))
    assert stateful.status_code == 201, stateful.text
    r = api("PUT", f"/subnets/{sub['id']}", json={"subnet": {"enable_dhcp": False}})
    assert "Cannot disable enable_dhcp with ipv6 attributes set" in api.error(r, 400)["message"]
    r = api("PUT", f"/subnets/{sub['id']}", json={"subnet": {"ipv6_ra_mode": "dhcpv6-stateless"}})
    assert api.error(r, 400)["message"] == "Cannot update read-only attribute ipv6_ra_mode"
    assert api("DELETE", f"/networks/{net['id']}").status_code == 204


def test_cidr_validation(net_cloud, api):
    net = api.create("network", name=unique("cidr"))
    bad = net_cloud.osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.0.0.0/33",
                        unique("bad"), check=False, json_out=False)
    assert bad.returncode != 0 and "not a valid IP subnet" in bad.stderr
    cases = [
        ("10.1.2.3", {}, "isn't a recognized IP subnet cidr, '10.1.2.3/32' is recommended"),
        ("0.0.0.0/0", {"enable_dhcp": False}, "0 is not allowed as CIDR prefix length"),
        ("0.0.0.0/8", {}, "First IP '0.0.0.0' of network is not supported if enable_dhcp is True"),
        ("10.20.0.0/31", {}, "Subnet has a prefix length that is incompatible with DHCP service enabled"),
        ("224.0.0.0/24", {}, "Multicast IP subnet is not supported if enable_dhcp is True"),
        ("127.0.0.0/24", {}, "Loopback IP subnet is not supported if enable_dhcp is True"),
        ("10.2.0.0/24", {"prefixlen": 24}, "cidr and prefixlen must not be supplied together"),
    ]
    for cidr, extra, words in cases:
        r = api("POST", "/subnets", json=subnet_body(net["id"], cidr, **extra))
        assert words in api.error(r, 400)["message"], (cidr, r.text)
    r = api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 6, "cidr": "10.30.0.0/24"}})
    assert api.error(r, 400)["message"] == ("Invalid input for operation: cidr '10.30.0.0/24' does not match "
                                            "the ip_version '6'.")
    r = api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "cidr": "10.30.0.0/24"}})
    assert "Required attribute 'ip_version' not specified" in api.error(r, 400)["message"]
    r = api("POST", "/subnets", json={"subnet": {"network_id": net["id"], "ip_version": 4}})
    assert api.error(r, 400)["message"] == ("Bad subnets request: a subnetpool must be specified in the absence "
                                            "of a cidr.")
    # host bits are cleared, as Neutron does
    made = api.create("subnet", **subnet_body(net["id"], "10.40.0.77/24")["subnet"])
    assert made["cidr"] == "10.40.0.0/24" and made["gateway_ip"] == "10.40.0.1"
    # without DHCP a /31 is allowed and has no pool; a /32 has its one address
    tiny = api.create("subnet", **subnet_body(net["id"], "10.50.0.0/31", enable_dhcp=False, gateway_ip=None)["subnet"])
    assert tiny["allocation_pools"] == [] and tiny["gateway_ip"] is None
    r = api("POST", "/subnets", json=subnet_body("00000000-0000-0000-0000-000000000000", "10.60.0.0/24"))
    assert api.error(r, 404)["type"] == "NetworkNotFound"
    api("DELETE", f"/networks/{net['id']}")


def test_overlapping_subnets_refused(net_cloud, api):
    net = api.create("network", name=unique("overlap"))
    first = net_cloud.osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.61.0.0/16",
                          unique("first"))
    again = net_cloud.osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.61.4.0/24",
                          unique("again"), check=False, json_out=False)
    assert again.returncode != 0 and "overlaps with another subnet" in again.stderr
    r = api("POST", "/subnets", json=subnet_body(net["id"], "10.61.0.0/24"))
    err = api.error(r, 400)
    assert err["type"] == "InvalidInput"
    assert err["message"] == (f"Invalid input for operation: Requested subnet with cidr: 10.61.0.0/24 for "
                              f"network: {net['id']} overlaps with another subnet.")
    # the same range on another network is fine
    other = api.create("network", name=unique("other"))
    assert api("POST", "/subnets", json=subnet_body(other["id"], "10.61.0.0/24")).status_code == 201
    # bulk create is all or nothing
    r = api("POST", "/subnets", json={"subnets": [subnet_body(net["id"], "10.62.0.0/24")["subnet"],
                                                  subnet_body(net["id"], "10.62.0.128/25")["subnet"]]})
    api.error(r, 400)
    assert api("GET", f"/subnets?network_id={net['id']}").json()["subnets"][0]["id"] == first["id"]
    assert len(api("GET", f"/subnets?network_id={net['id']}").json()["subnets"]) == 1
    r = api("POST", "/subnets", json={"subnets": [subnet_body(net["id"], "10.63.0.0/24")["subnet"],
                                                  subnet_body(net["id"], "10.64.0.0/24")["subnet"]]})
    assert r.status_code == 201 and len(r.json()["subnets"]) == 2
    for n in (net, other):
        api("DELETE", f"/networks/{n['id']}")


def test_gateway_and_allocation_pools(net_cloud, api):
    net = api.create("network", name=unique("pools"))
    nid = net["id"]
    cases = [
        ({"gateway_ip": "10.70.0.5", "allocation_pools": [{"start": "10.70.0.2", "end": "10.70.0.9"}]}, 409,
         "GatewayConflictWithAllocationPools", "Gateway ip 10.70.0.5 conflicts with allocation pool 10.70.0.2-10.70.0.9."),
        ({"allocation_pools": [{"start": "10.70.0.200", "end": "10.70.1.5"}]}, 400, "OutOfBoundsAllocationPool",
         "The allocation pool 10.70.0.200-10.70.1.5 spans beyond the subnet cidr 10.70.0.0/24."),
        ({"allocation_pools": [{"start": "10.70.0.2", "end": "10.70.0.20"}, {"start": "10.70.0.20", "end": "10.70.0.30"}]},
         409, "OverlappingAllocationPools", "Found overlapping allocation pools"),
        ({"allocation_pools": [{"start": "10.70.0.30", "end": "10.70.0.20"}]}, 400, "InvalidAllocationPool",
         "is not valid"),
        ({"allocation_pools": [{"start": "10.70.0.30"}]}, 400, "HTTPBadRequest", "Invalid input for allocation_pools"),
        ({"gateway_ip": "10.70.0.0"}, 400, "InvalidInput", "Gateway is not valid on subnet"),
        ({"gateway_ip": "10.70.0.256"}, 400, "HTTPBadRequest", "'10.70.0.256' is not a valid IP address"),
        ({"gateway_ip": "fd00::1"}, 400, "InvalidInput", "gateway_ip 'fd00::1' does not match the ip_version '4'"),
    ]
    for extra, status, err_type, words in cases:
        r = api("POST", "/subnets", json=subnet_body(nid, "10.70.0.0/24", **extra))
        err = api.error(r, status)
        assert err["type"] == err_type and words in err["message"], (extra, err)
    none = net_cloud.osc("subnet", "create", "--network", nid, "--gateway", "none", "--subnet-range",
                         "10.70.0.0/24", unique("nogw"))
    assert none["gateway_ip"] is None
    assert none["allocation_pools"] == [{"start": "10.70.0.1", "end": "10.70.0.254"}]
    offlink = api.create("subnet", **subnet_body(nid, "10.71.0.0/24", gateway_ip="10.99.0.1")["subnet"])
    assert offlink["gateway_ip"] == "10.99.0.1"   # Neutron allows an on-link gateway outside the subnet
    split = api.create("subnet", **subnet_body(nid, "10.72.0.0/24", gateway_ip="10.72.0.100")["subnet"])
    assert split["allocation_pools"] == [{"start": "10.72.0.1", "end": "10.72.0.99"},
                                         {"start": "10.72.0.101", "end": "10.72.0.254"}]
    api("DELETE", f"/networks/{nid}")


def test_dns_nameservers_and_host_routes(net_cloud, api):
    net = api.create("network", name=unique("dns"))
    nid = net["id"]
    r = api("POST", "/subnets", json=subnet_body(nid, "10.80.0.0/24", dns_nameservers=["8.8.8.8", "8.8.8.8"]))
    assert "Duplicate nameserver '8.8.8.8'" in api.error(r, 400)["message"]
    r = api("POST", "/subnets", json=subnet_body(nid, "10.80.0.0/24",
                                                 dns_nameservers=[f"10.0.0.{i}" for i in range(1, 7)]))
    err = api.error(r, 400)
    assert err["type"] == "DNSNameServersExhausted"
    assert err["message"] == ("Unable to complete operation for new subnet. The number of DNS nameservers "
                              "exceeds the limit 5.")
    r = api("POST", "/subnets", json=subnet_body(nid, "10.80.0.0/24", dns_nameservers=["dns.example.org"]))
    assert "is not a valid nameserver" in api.error(r, 400)["message"]
    r = api("POST", "/subnets", json=subnet_body(nid, "10.80.0.0/24", host_routes=[
        {"destination": f"192.168.{i}.0/24", "nexthop": "10.80.0.9"} for i in range(21)]))
    assert api.error(r, 400)["type"] == "HostRoutesExhausted"
    sub = net_cloud.osc("subnet", "create", "--network", nid, "--subnet-range", "10.80.0.0/24",
                        "--dns-nameserver", "9.9.9.9", "--dns-nameserver", "1.1.1.1", "--host-route",
                        "destination=192.168.0.0/24,gateway=10.80.0.254", unique("dns"))
    assert sub["dns_nameservers"] == ["9.9.9.9", "1.1.1.1"]      # order kept
    assert sub["host_routes"] == [{"destination": "192.168.0.0/24", "nexthop": "10.80.0.254"}]
    net_cloud.osc("subnet", "set", "--dns-nameserver", "8.8.4.4", "--no-host-route", sub["id"], json_out=False)
    shown = net_cloud.osc("subnet", "show", sub["id"])
    assert set(shown["dns_nameservers"]) == {"9.9.9.9", "1.1.1.1", "8.8.4.4"} and shown["host_routes"] == []
    net_cloud.osc("subnet", "unset", "--dns-nameserver", "1.1.1.1", sub["id"], json_out=False)
    assert "1.1.1.1" not in net_cloud.osc("subnet", "show", sub["id"])["dns_nameservers"]
    api("DELETE", f"/networks/{nid}")


def test_update_subnet(net_cloud, api):
    net = api.create("network", name=unique("upd"))
    sub = api.create("subnet", **subnet_body(net["id"], "10.90.0.0/24")["subnet"])
    net_cloud.osc("subnet", "set", "--name", "renamed", "--no-dhcp", "--gateway", "10.90.0.254",
                  "--no-allocation-pool", "--allocation-pool", "start=10.90.0.10,end=10.90.0.20", sub["id"],
                  json_out=False)
    shown = api("GET", f"/subnets/{sub['id']}").json()["subnet"]
    assert shown["name"] == "renamed" and shown["enable_dhcp"] is False and shown["gateway_ip"] == "10.90.0.254"
    assert shown["allocation_pools"] == [{"start": "10.90.0.10", "end": "10.90.0.20"}]
    assert shown["revision_number"] == sub["revision_number"] + 1
    r = api("PUT", f"/subnets/{sub['id']}", json={"subnet": {"gateway_ip": "10.90.0.15"}})
    assert api.error(r, 409)["type"] == "GatewayConflictWithAllocationPools"
    r = api("PUT", f"/subnets/{sub['id']}", json={"subnet": {"cidr": "10.91.0.0/24"}})
    assert api.error(r, 400)["message"] == "Cannot update read-only attribute cidr"
    r = api("PUT", f"/subnets/{sub['id']}", json={"subnet": {"gateway_ip": None}})
    assert r.status_code == 200 and r.json()["subnet"]["gateway_ip"] is None
    net_cloud.osc("subnet", "set", "--dhcp", sub["id"], json_out=False)
    assert api("GET", f"/subnets/{sub['id']}").json()["subnet"]["enable_dhcp"] is True
    r = api("PUT", f"/subnets/{sub['id']}", json={"subnet": {"name": "x"}},
            headers={"If-Match": "revision_number=1"})
    assert api.error(r, 412)["type"] == "RevisionNumberConstraintFailed"
    api("DELETE", f"/networks/{net['id']}")


def test_delete_refused_while_ports_hold_addresses(api):
    net = api.create("network", name=unique("del"))
    sub = api.create("subnet", **subnet_body(net["id"], "10.95.0.0/24")["subnet"])
    port = api.create("port", network_id=net["id"])
    dhcp = api.create("port", network_id=net["id"], device_owner="network:dhcp")
    r = api("DELETE", f"/subnets/{sub['id']}")
    err = api.error(r, 409)
    assert err["type"] == "SubnetInUse"
    assert err["message"] == (f"Unable to complete operation on subnet {sub['id']}: One or more ports have an "
                              "IP allocation from this subnet.")
    assert api("DELETE", f"/ports/{port['id']}").status_code == 204
    before = api("GET", f"/networks/{net['id']}").json()["network"]["revision_number"]
    assert api("DELETE", f"/subnets/{sub['id']}").status_code == 204     # the DHCP port does not keep it
    assert api("GET", f"/ports/{dhcp['id']}").json()["port"]["fixed_ips"] == []
    assert api("GET", f"/networks/{net['id']}").json()["network"]["revision_number"] == before + 1
    assert api.error(api("GET", f"/subnets/{sub['id']}"), 404)["type"] == "SubnetNotFound"
    assert api("DELETE", f"/networks/{net['id']}").status_code == 204


def test_visibility_filters_and_fields(api, member):
    private = api.create("network", name=unique("priv"))
    sub = api.create("subnet", **subnet_body(private["id"], "10.96.0.0/24", name=unique("s"))["subnet"])
    assert member.api.error(member.api("GET", f"/subnets/{sub['id']}"), 404)["type"] == "SubnetNotFound"
    assert sub["id"] not in {s["id"] for s in member.api("GET", "/subnets").json()["subnets"]}
    got = api("GET", "/subnets?cidr=10.96.0.0/24&ip_version=4&fields=id&fields=cidr").json()["subnets"]
    assert got == [{"id": sub["id"], "cidr": "10.96.0.0/24"}]
    assert api("GET", f"/subnets?name={sub['name']}&enable_dhcp=false").json()["subnets"] == []
    assert api.error(api("GET", "/subnets?service_types=x"), 400)
    assert api("PUT", f"/subnets/{sub['id']}/tags/blue").status_code == 201
    assert [s["id"] for s in api("GET", "/subnets?tags=blue").json()["subnets"]] == [sub["id"]]
    api("DELETE", f"/networks/{private['id']}")
