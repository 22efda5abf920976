"""Routers and floating IPs through the openstack CLI: the installation guide's self-service steps,
then the errors users run into."""

from __future__ import annotations

import ipaddress

import pytest

from tests.functional.network.conftest import make_member, unique


@pytest.fixture(scope="module")
def provider(net_cloud):
    """A shared external flat network with a subnet, as the guide's 'provider' network."""
    physnet = unique("physnet")
    net = net_cloud.osc("network", "create", "--share", "--external", "--provider-physical-network", physnet,
                        "--provider-network-type", "flat", unique("provider"))
    sub = net_cloud.osc("subnet", "create", "--network", net["id"], "--allocation-pool",
                        "start=203.0.113.101,end=203.0.113.250", "--dns-nameserver", "8.8.4.4",
                        "--gateway", "203.0.113.1", "--subnet-range", "203.0.113.0/24", unique("provider"))
    return {"net": net, "subnet": sub}


def _selfservice(cloud, cidr: str = "172.16.1.0/24", gateway: str = "172.16.1.1", osc=None):
    osc = osc or cloud.osc
    net = osc("network", "create", unique("selfservice"))
    sub = osc("subnet", "create", "--network", net["id"], "--dns-nameserver", "8.8.4.4", "--gateway", gateway,
              "--subnet-range", cidr, unique("selfservice"))
    return net, sub


def test_install_guide_self_service_network(net_cloud, provider):
    net, sub = _selfservice(net_cloud)
    router = net_cloud.osc("router", "create", unique("router"))
    net_cloud.osc("router", "add", "subnet", router["id"], sub["id"], json_out=False)
    net_cloud.osc("router", "set", router["id"], "--external-gateway", provider["net"]["id"], json_out=False)
    ports = net_cloud.osc("port", "list", "--router", router["id"], "--long")
    owners = {p["Device Owner"] for p in ports}
    assert owners == {"network:router_interface", "network:router_gateway"}
    assert {p["Status"] for p in ports} == {"DOWN"}     # no L3 agent wires them: the data plane is off
    addresses = " ".join(str(p["Fixed IP Addresses"]) for p in ports)
    assert "172.16.1.1" in addresses and "203.0.113." in addresses
    shown = net_cloud.osc("router", "show", router["id"])
    gw = shown["external_gateway_info"]
    assert gw["network_id"] == provider["net"]["id"] and gw["enable_snat"] is True
    assert gw["external_fixed_ips"][0]["subnet_id"] == provider["subnet"]["id"]

    vm = net_cloud.osc("port", "create", "--network", net["id"], "--device-owner", "compute:nova",
                       unique("vm"))
    fip = net_cloud.osc("floating", "ip", "create", provider["net"]["id"])
    assert fip["floating_ip_address"].startswith("203.0.113.") and fip["status"] == "DOWN"
    net_cloud.osc("floating", "ip", "set", "--port", vm["id"], fip["id"], json_out=False)
    fip = net_cloud.osc("floating", "ip", "show", fip["id"])
    assert fip["router_id"] == router["id"] and fip["port_id"] == vm["id"]
    assert fip["fixed_ip_address"] == vm["fixed_ips"][0]["ip_address"]
    assert fip["port_details"]["mac_address"] == vm["mac_address"]

    # what still needs them cannot be taken away
    r = net_cloud.osc("router", "remove", "subnet", router["id"], sub["id"], check=False, json_out=False)
    assert r.returncode != 0 and "required by one or more floating IPs" in r.stderr
    r = net_cloud.osc("router", "unset", "--external-gateway", router["id"], check=False, json_out=False)
    assert r.returncode != 0 and "required by one or more floating IPs" in r.stderr
    r = net_cloud.osc("router", "delete", router["id"], check=False, json_out=False)
    assert r.returncode != 0 and "still has ports" in r.stderr

    net_cloud.osc("floating", "ip", "delete", fip["id"], json_out=False)
    net_cloud.osc("port", "delete", vm["id"], json_out=False)
    net_cloud.osc("router", "remove", "subnet", router["id"], sub["id"], json_out=False)
    net_cloud.osc("router", "unset", "--external-gateway", router["id"], json_out=False)
    assert net_cloud.osc("port", "list", "--router", router["id"]) == []
    net_cloud.osc("router", "delete", router["id"], json_out=False)
    net_cloud.osc("network", "delete", net["id"], json_out=False)


def test_interface_errors(net_cloud, api, provider):
    net, sub = _selfservice(net_cloud, "172.16.2.0/24", "172.16.2.1")
    router = api.create("router", name=unique("r"))
    url = f"/routers/{router['id']}"
    assert api("PUT", f"{url}/add_router_interface", json={"subnet_id": sub["id"]}).status_code == 200
    r = api("PUT", f"{url}/add_router_interface", json={"subnet_id": sub["id"]})
    assert "already has a port on subnet" in api.error(r, 400)["message"]
    _, overlapping = _selfservice(net_cloud, "172.16.2.0/25", "172.16.2.126")
    r = api("PUT", f"{url}/add_router_interface", json={"subnet_id": overlapping["id"]})
    assert "overlaps with cidr" in api.error(r, 400)["message"]
    r = api("PUT", f"{url}/add_router_interface", json={})
    assert api.error(r, 400)
    r = api("PUT", f"{url}/remove_router_interface", json={"subnet_id": overlapping["id"]})
    assert api.error(r, 404)
    r = api("PUT", url, json={"router": {"external_gateway_info": {"network_id": net["id"]}}})
    assert "not a valid external network" in api.error(r, 400)["message"]
    # static routes need a next hop the router is connected to
    r = api("PUT", url, json={"router": {"routes": [{"destination": "10.9.0.0/16", "nexthop": "192.168.9.9"}]}})
    assert api.error(r, 400)["type"] == "InvalidRoutes"
    r = api("PUT", url, json={"router": {"routes": [{"destination": "10.9.0.0/16", "nexthop": "172.16.2.9"}]}})
    assert r.status_code == 200 and r.json()["router"]["routes"] == [
        {"destination": "10.9.0.0/16", "nexthop": "172.16.2.9"}]
    r = api("PUT", f"{url}/remove_router_interface", json={"subnet_id": sub["id"]})
    assert "required by one or more routes" in api.error(r, 409)["message"]
    r = api("PUT", f"{url}/remove_extraroutes", json={"router": {"routes": [
        {"destination": "10.9.0.0/16", "nexthop": "172.16.2.9"}]}})
    assert r.status_code == 200 and r.json()["router"]["routes"] == []
    assert api("PUT", f"{url}/remove_router_interface", json={"subnet_id": sub["id"]}).status_code == 200
    # a network with a router interface is in use
    assert api("PUT", f"{url}/add_router_interface", json={"subnet_id": sub["id"]}).status_code == 200
    r = api("DELETE", f"/networks/{net['id']}")
    assert api.error(r, 409)["type"] == "NetworkInUse"
    api("PUT", f"{url}/remove_router_interface", json={"subnet_id": sub["id"]})
    assert api("DELETE", url).status_code == 204


def test_floating_ip_errors(net_cloud, api, member, provider):
    net, sub = _selfservice(net_cloud, "172.16.3.0/24", "172.16.3.1")
    port = api.create("port", network_id=net["id"])
    r = api("POST", "/floatingips", json={"floatingip": {"floating_network_id": provider["net"]["id"],
                                                         "port_id": port["id"]}})
    assert api.error(r, 404)["type"] == "ExternalGatewayForFloatingIPNotFound"
    r = api("POST", "/floatingips", json={"floatingip": {"floating_network_id": net["id"]}})
    assert "not a valid external network" in api.error(r, 400)["message"]
    r = api("POST", "/floatingips", json={"floatingip": {}})
    assert "floating_network_id" in api.error(r, 400)["message"]
    r = member.api("POST", "/floatingips", json={"floatingip": {"floating_network_id": provider["net"]["id"],
                                                                "floating_ip_address": "203.0.113.200"}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    fip = member.api.create("floatingip", floating_network_id=provider["net"]["id"])
    assert fip["project_id"] == member.project_id
    r = member.api("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": port["id"]}})
    assert member.api.error(r, 404)["type"] == "PortNotFound"
    assert member.api("DELETE", f"/floatingips/{fip['id']}").status_code == 204
    api("DELETE", f"/ports/{port['id']}")
    api("DELETE", f"/networks/{net['id']}")


def test_routes_null_clears_a_routers_routes(net_cloud, api):
    net, sub = _selfservice(net_cloud, "172.16.4.0/24", "172.16.4.1")
    router = api.create("router", name=unique("routes"))
    url = f"/routers/{router['id']}"
    assert api("PUT", f"{url}/add_router_interface", json={"subnet_id": sub["id"]}).status_code == 200
    routes = [{"destination": "10.9.0.0/16", "nexthop": "172.16.4.20"}]
    r = api("PUT", url, json={"router": {"routes": routes}})
    assert r.status_code == 200 and r.json()["router"]["routes"] == routes, r.text
    r = api("PUT", url, json={"router": {"routes": None}})
    assert r.status_code == 200 and r.json()["router"]["routes"] == [], r.text
    assert api("GET", url).json()["router"]["routes"] == []
    # the CLI's way of saying it: openstack router set --no-route
    api("PUT", url, json={"router": {"routes": routes}})
    net_cloud.osc("router", "set", "--no-route", router["id"], json_out=False)
    assert net_cloud.osc("router", "show", router["id"])["routes"] == []
    assert "is not a list" in api.error(api("PUT", url, json={"router": {"routes": "none"}}), 400)["message"]
    api("PUT", f"{url}/remove_router_interface", json={"subnet_id": sub["id"]})
    api("DELETE", url)
    api("DELETE", f"/networks/{net['id']}")


def test_floating_ip_conflict_names_its_address_and_network(net_cloud, api, provider):
    net, sub = _selfservice(net_cloud, "172.16.5.0/24", "172.16.5.1")
    router = api.create("router", name=unique("fipconflict"),
                        external_gateway_info={"network_id": provider["net"]["id"]})
    api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    port = api.create("port", network_id=net["id"])
    first = api.create("floatingip", floating_network_id=provider["net"]["id"], port_id=port["id"])
    second = api.create("floatingip", floating_network_id=provider["net"]["id"])
    r = api("PUT", f"/floatingips/{second['id']}", json={"floatingip": {"port_id": port["id"]}})
    err = api.error(r, 409)
    fixed = port["fixed_ips"][0]["ip_address"]
    assert err["type"] == "FloatingIPPortAlreadyAssociated"
    assert err["message"] == (
        f"Cannot associate floating IP {second['floating_ip_address']} ({second['id']}) with port {port['id']} "
        f"using fixed IP {fixed}, as that fixed IP already has a floating IP on external network "
        f"{provider['net']['id']}.")
    # an address another floating IP holds: Neutron's IPAM conflict, naming the address and its subnet
    r = api("POST", "/floatingips", json={"floatingip": {"floating_network_id": provider["net"]["id"],
                                                         "floating_ip_address": first["floating_ip_address"]}})
    err = api.error(r, 409)
    assert err["type"] == "IpAddressAlreadyAllocated"
    assert err["message"] == (f"IP address {first['floating_ip_address']} already allocated in subnet "
                              f"{provider['subnet']['id']}")
    for fip in (first, second):
        api("DELETE", f"/floatingips/{fip['id']}")
    api("DELETE", f"/ports/{port['id']}")
    api("PUT", f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": sub["id"]})
    api("DELETE", f"/routers/{router['id']}")
    api("DELETE", f"/networks/{net['id']}")


def test_deleting_an_external_network_takes_its_unused_floating_ips(net_cloud, api, tmp_path):
    member = make_member(net_cloud, tmp_path)
    ext = net_cloud.osc("network", "create", "--external", unique("ext"))
    ext_sub = api.create("subnet", network_id=ext["id"], cidr="198.51.100.0/24", ip_version=4)
    unused = [member.api.create("floatingip", floating_network_id=ext["id"], tags=["t"]),
              api.create("floatingip", floating_network_id=ext["id"])]

    # an associated floating IP keeps the network in use, and nothing is deleted
    net, sub = _selfservice(net_cloud, "172.16.6.0/24", "172.16.6.1")
    router = api.create("router", name=unique("extdel"), external_gateway_info={"network_id": ext["id"]})
    api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    port = api.create("port", network_id=net["id"])
    used = api.create("floatingip", floating_network_id=ext["id"], port_id=port["id"])
    assert api.error(api("DELETE", f"/networks/{ext['id']}"), 409)["type"] == "NetworkInUse"
    assert {f["id"] for f in api("GET", f"/floatingips?floating_network_id={ext['id']}").json()["floatingips"]} \
        == {f["id"] for f in [*unused, used]}

    api("DELETE", f"/floatingips/{used['id']}")
    api("PUT", f"/routers/{router['id']}", json={"router": {"external_gateway_info": None}})
    net_cloud.osc("network", "delete", ext["id"], json_out=False)
    assert api("GET", f"/networks/{ext['id']}").status_code == 404
    assert api("GET", f"/subnets/{ext_sub['id']}").status_code == 404
    for fip in unused:
        assert api("GET", f"/floatingips/{fip['id']}").status_code == 404
    assert api("GET", f"/ports?network_id={ext['id']}").json()["ports"] == []
    assert member.api("GET", "/floatingips").json()["floatingips"] == []
    api("DELETE", f"/ports/{port['id']}")
    api("PUT", f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": sub["id"]})
    api("DELETE", f"/routers/{router['id']}")
    api("DELETE", f"/networks/{net['id']}")


def eui64(prefix: str, mac: str) -> str:
    """The modified EUI-64 address of a MAC on a /64 (RFC 4291: U/L bit flipped, ff:fe inserted)."""
    b = bytes(int(x, 16) for x in mac.split(":"))
    iid = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return str(ipaddress.ip_network(prefix)[int.from_bytes(iid, "big")])


def test_router_interfaces_on_ipv6_subnets(net_cloud, api):
    """As Neutron: the IPv6 subnets of a network share one router port (one gateway address each),
    an IPv4 subnet gets its own; detaching one subnet of the shared port takes only its address."""
    net = api.create("network", name=unique("v6r"))
    v4 = api.create("subnet", network_id=net["id"], cidr="10.66.0.0/24", ip_version=4)
    modes = {"slaac": "fd00:66:1::/64", "dhcpv6-stateful": "fd00:66:2::/64", "dhcpv6-stateless": "fd00:66:3::/64"}
    v6 = {mode: net_cloud.osc("subnet", "create", "--network", net["id"], "--ip-version", "6", "--ipv6-ra-mode", mode,
                              "--ipv6-address-mode", mode, "--subnet-range", cidr, unique(mode))
          for mode, cidr in modes.items()}
    router = net_cloud.osc("router", "create", unique("v6router"))
    url = f"/routers/{router['id']}"
    shared = None
    for mode, sub in v6.items():
        r = api("PUT", f"{url}/add_router_interface", json={"subnet_id": sub["id"]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["subnet_id"] == sub["id"] and body["network_id"] == net["id"]
        shared = shared or body["port_id"]
        assert body["port_id"] == shared, mode
    net_cloud.osc("router", "add", "subnet", router["id"], v4["id"], json_out=False)
    ports = {p["id"]: p for p in api("GET", f"/ports?device_id={router['id']}").json()["ports"]}
    assert len(ports) == 2
    assert sorted(a["ip_address"] for a in ports[shared]["fixed_ips"]) == ["fd00:66:1::1", "fd00:66:2::1",
                                                                          "fd00:66:3::1"]
    (v4_port,) = [p for pid, p in ports.items() if pid != shared]
    assert v4_port["fixed_ips"] == [{"subnet_id": v4["id"], "ip_address": "10.66.0.1"}]
    # an instance port gets an EUI-64 address on the SLAAC and stateless subnets, one from the pool on the stateful one
    vm = api.create("port", network_id=net["id"])
    got = {a["subnet_id"]: a["ip_address"] for a in vm["fixed_ips"]}
    assert got[v6["slaac"]["id"]] == eui64("fd00:66:1::/64", vm["mac_address"])
    assert got[v6["dhcpv6-stateless"]["id"]] == eui64("fd00:66:3::/64", vm["mac_address"])
    assert ipaddress.ip_address(got[v6["dhcpv6-stateful"]["id"]]) in ipaddress.ip_network("fd00:66:2::/64")
    assert got[v4["id"]].startswith("10.66.0.")

    # the same subnet twice is refused, and so is a second port with IPv6 addresses on the network
    r = api("PUT", f"{url}/add_router_interface", json={"subnet_id": v6["slaac"]["id"]})
    assert "already has a port on subnet" in api.error(r, 400)["message"]
    extra = net_cloud.osc("subnet", "create", "--network", net["id"], "--ip-version", "6", "--subnet-range",
                          "fd00:66:4::/64", unique("v6plain"))
    other = api.create("port", network_id=net["id"], fixed_ips=[{"subnet_id": extra["id"]}])
    r = api("PUT", f"{url}/add_router_interface", json={"port_id": other["id"]})
    assert api.error(r, 400)["message"] == (
        f"Bad router request: Cannot have multiple router ports with the same network id if both contain IPv6 "
        f"subnets. Existing port {shared} has IPv6 subnet(s) and network id {net['id']}.")
    api("DELETE", f"/ports/{other['id']}")
    # detaching one subnet keeps the shared port
    r = api("PUT", f"{url}/remove_router_interface", json={"subnet_id": v6["dhcpv6-stateful"]["id"]})
    assert r.status_code == 200 and r.json()["port_id"] == shared, r.text
    assert r.json()["subnet_ids"] == [v6["dhcpv6-stateful"]["id"]]
    left = api("GET", f"/ports/{shared}").json()["port"]["fixed_ips"]
    assert sorted(a["ip_address"] for a in left) == ["fd00:66:1::1", "fd00:66:3::1"]
    # removing by port takes the whole port
    net_cloud.osc("router", "remove", "port", router["id"], shared, json_out=False)
    assert api("GET", f"/ports/{shared}").status_code == 404
    net_cloud.osc("router", "remove", "subnet", router["id"], v4["id"], json_out=False)
    api("DELETE", f"/ports/{vm['id']}")
    assert api("DELETE", url).status_code == 204
    assert api("DELETE", f"/networks/{net['id']}").status_code == 204
