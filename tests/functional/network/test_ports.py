"""Ports through the openstack CLI, openstacksdk and raw HTTP: fixed IPs, MACs, port security,
security groups, allowed address pairs, DHCP options, binding, filters, policies and errors."""

from __future__ import annotations

import openstack
import pytest

from tests.functional.network.conftest import unique


@pytest.fixture(scope="module")
def lan(api):
    net = api.create("network", name=unique("lan"))
    sub = api.create("subnet", network_id=net["id"], ip_version=4, cidr="10.200.0.0/24", name=unique("lan"))
    yield net, sub
    for port in api("GET", f"/ports?network_id={net['id']}").json()["ports"]:
        api("PUT", f"/ports/{port['id']}", json={"port": {"device_owner": ""}})
        api("DELETE", f"/ports/{port['id']}")
    api("DELETE", f"/networks/{net['id']}")


def ips(port):
    return [f["ip_address"] for f in port["fixed_ips"]]


def test_port_with_fixed_ip_and_listing(net_cloud, api, lan):
    net, sub = lan
    port = net_cloud.osc("port", "create", "--network", net["id"], "--fixed-ip",
                         f"subnet={sub['id']},ip-address=10.200.0.50", "--device", "vm-1",
                         "--device-owner", "compute:nova", unique("p1"))
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.200.0.50"}]
    assert port["status"] == "DOWN" and port["mac_address"].startswith("fa:16:3e:")
    assert port["binding_vif_type"] == "unbound" and port["binding_vnic_type"] == "normal"
    assert port["port_security_enabled"] is True and len(port["security_group_ids"]) == 1
    default_sg = net_cloud.osc("security", "group", "show", port["security_group_ids"][0])
    assert default_sg["name"] == "default"
    other = api.create("port", network_id=net["id"], name=unique("p2"))
    by_net = {p["ID"] for p in net_cloud.osc("port", "list", "--network", net["id"])}
    assert {port["id"], other["id"]} <= by_net
    assert [p["ID"] for p in net_cloud.osc("port", "list", "--device-id", "vm-1")] == [port["id"]]
    assert [p["ID"] for p in net_cloud.osc("port", "list", "--fixed-ip", "ip-address=10.200.0.50")] == [port["id"]]
    by_subnet = {p["ID"] for p in net_cloud.osc("port", "list", "--fixed-ip", f"subnet={sub['id']}")}
    assert {port["id"], other["id"]} <= by_subnet
    assert [p["ID"] for p in net_cloud.osc("port", "list", "--fixed-ip", "ip-substring=200.0.50")] == [port["id"]]
    assert [p["id"] for p in api("GET", f"/ports?mac_address={port['mac_address'].upper()}").json()["ports"]] \
        == [port["id"]]
    assert [p["id"] for p in api("GET", "/ports?device_owner=compute:nova&fields=id").json()["ports"]] == [port["id"]]
    sg = port["security_group_ids"][0]
    assert port["id"] in {p["id"] for p in api("GET", f"/ports?security_groups={sg}").json()["ports"]}
    r = api("GET", "/ports?fixed_ips=bogus")
    assert api.error(r, 400)
    net_cloud.osc("port", "delete", port["id"], other["id"], json_out=False)
    assert api.error(api("GET", f"/ports/{port['id']}"), 404)["type"] == "PortNotFound"


def test_fixed_ip_errors(net_cloud, api, lan):
    net, sub = lan
    taken = api.create("port", network_id=net["id"], fixed_ips=[{"ip_address": "10.200.0.60"}])
    outside = net_cloud.osc("port", "create", "--network", net["id"], "--fixed-ip",
                            f"subnet={sub['id']},ip-address=10.201.0.5", unique("bad"), check=False, json_out=False)
    assert outside.returncode != 0 and "is not a valid IP for the specified subnet" in outside.stderr
    cases = [
        ([{"subnet_id": sub["id"], "ip_address": "10.201.0.5"}], 400, "InvalidIpForSubnet",
         "IP address 10.201.0.5 is not a valid IP for the specified subnet."),
        ([{"ip_address": "10.201.0.5"}], 400, "InvalidIpForNetwork",
         "IP address 10.201.0.5 is not a valid IP for any of the subnets on the specified network."),
        ([{"ip_address": "10.200.0.60"}], 409, "IpAddressAlreadyAllocated",
         f"IP address 10.200.0.60 already allocated in subnet {sub['id']}"),
        ([{"ip_address": "10.200.0.255"}], 400, "InvalidIpForNetwork", "10.200.0.255"),
        ([{"ip_address": "10.200.0.61"}, {"ip_address": "10.200.0.61"}], 400, "HTTPBadRequest",
         "Duplicate IP address '10.200.0.61'"),
        ([{"subnet_id": "00000000-0000-0000-0000-000000000000"}], 404, "SubnetNotFound", "could not be found"),
        ("10.200.0.5", 400, "HTTPBadRequest", "Invalid data format for fixed IP"),
    ]
    for fixed, status, err_type, words in cases:
        r = api("POST", "/ports", json={"port": {"network_id": net["id"], "fixed_ips": fixed}})
        err = api.error(r, status)
        assert err["type"] == err_type and words in err["message"], (fixed, err)
    dup = net_cloud.osc("port", "create", "--network", net["id"], "--fixed-ip", "ip-address=10.200.0.60",
                        unique("dup"), check=False, json_out=False)
    assert dup.returncode != 0 and "already allocated" in dup.stderr
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "mac_address": taken["mac_address"]}})
    err = api.error(r, 409)
    assert err["type"] == "MacAddressInUse" and taken["mac_address"] in err["message"]
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "mac_address": "00:00:00:00:00:00"}})
    assert "is not a valid MAC address" in api.error(r, 400)["message"]
    r = api("POST", "/ports", json={"port": {"name": "no-network"}})
    assert "Required attribute 'network_id' not specified" in api.error(r, 400)["message"]
    r = api("POST", "/ports", json={"port": {"network_id": "00000000-0000-0000-0000-000000000000"}})
    assert api.error(r, 404)["type"] == "NetworkNotFound"
    api("DELETE", f"/ports/{taken['id']}")


def test_exhausted_pool_and_network_in_use(api):
    net = api.create("network", name=unique("full"))
    sub = api.create("subnet", network_id=net["id"], ip_version=4, cidr="10.202.0.0/24",
                     allocation_pools=[{"start": "10.202.0.10", "end": "10.202.0.11"}])
    made = [api.create("port", network_id=net["id"]) for _ in range(2)]
    assert sorted(ips(p)[0] for p in made) == ["10.202.0.10", "10.202.0.11"]
    r = api("POST", "/ports", json={"port": {"network_id": net["id"]}})
    err = api.error(r, 409)
    assert err["type"] == "IpAddressGenerationFailure"
    assert err["message"] == f"No more IP addresses available on network {net['id']}."
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "fixed_ips": [{"subnet_id": sub["id"]}]}})
    assert api.error(r, 409)["type"] == "IpAddressGenerationFailure"
    # a port without addresses is still possible
    bare = api.create("port", network_id=net["id"], fixed_ips=[])
    assert bare["fixed_ips"] == []
    r = api("DELETE", f"/networks/{net['id']}")
    err = api.error(r, 409)
    assert err["type"] == "NetworkInUse" and net["id"] in err["message"]
    for p in (*made, bare):
        assert api("DELETE", f"/ports/{p['id']}").status_code == 204
    assert api("DELETE", f"/networks/{net['id']}").status_code == 204


def test_set_and_unset(net_cloud, api, lan):
    net, sub = lan
    port = net_cloud.osc("port", "create", "--network", net["id"], "--fixed-ip", "ip-address=10.200.0.70",
                         unique("set"))
    rev = port["revision_number"]
    net_cloud.osc("port", "set", "--fixed-ip", f"subnet={sub['id']}", port["id"], json_out=False)
    shown = api("GET", f"/ports/{port['id']}").json()["port"]
    assert len(shown["fixed_ips"]) == 2 and "10.200.0.70" in ips(shown)
    assert shown["revision_number"] == rev + 1
    net_cloud.osc("port", "unset", "--fixed-ip", f"subnet={sub['id']},ip-address=10.200.0.70", port["id"],
                  json_out=False)
    shown = api("GET", f"/ports/{port['id']}").json()["port"]
    assert len(shown["fixed_ips"]) == 1 and "10.200.0.70" not in ips(shown)
    # the released address is free again
    again = api.create("port", network_id=net["id"], fixed_ips=[{"ip_address": "10.200.0.70"}])
    mac = "fa:16:3e:aa:bb:cc"
    net_cloud.osc("port", "set", "--allowed-address", f"ip-address=10.200.0.200,mac-address={mac}",
                  "--allowed-address", "ip-address=192.0.2.0/24", port["id"], json_out=False)
    shown = api("GET", f"/ports/{port['id']}").json()["port"]
    assert shown["allowed_address_pairs"] == [{"ip_address": "10.200.0.200", "mac_address": mac},
                                              {"ip_address": "192.0.2.0/24", "mac_address": shown["mac_address"]}]
    net_cloud.osc("port", "unset", "--allowed-address", f"ip-address=10.200.0.200,mac-address={mac}", port["id"],
                  json_out=False)
    assert len(api("GET", f"/ports/{port['id']}").json()["port"]["allowed_address_pairs"]) == 1
    extra = net_cloud.osc("security", "group", "create", unique("web"))
    net_cloud.osc("port", "set", "--security-group", extra["id"], port["id"], json_out=False)
    groups = api("GET", f"/ports/{port['id']}").json()["port"]["security_groups"]
    assert extra["id"] in groups and len(groups) == 2
    net_cloud.osc("port", "unset", "--security-group", extra["id"], port["id"], json_out=False)
    assert extra["id"] not in api("GET", f"/ports/{port['id']}").json()["port"]["security_groups"]
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"security_groups": ["00000000-0000-0000-0000-000000000000"]}})
    assert api.error(r, 404)["type"] == "SecurityGroupNotFound"
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"network_id": net["id"]}})
    assert api.error(r, 400)["message"] == "Cannot update read-only attribute network_id"
    net_cloud.osc("port", "delete", port["id"], again["id"], json_out=False)
    net_cloud.osc("security", "group", "delete", extra["id"], json_out=False)


def test_binding_host(net_cloud, api, member, lan):
    net = member.api.create("network", name=unique("bind"))
    member.api.create("subnet", network_id=net["id"], ip_version=4, cidr="10.203.0.0/24")
    port = member.api.create("port", network_id=net["id"])
    assert "binding:host_id" not in port and "binding:vif_type" not in port and port["binding:vnic_type"] == "normal"
    r = member.api("PUT", f"/ports/{port['id']}", json={"port": {"binding:host_id": "compute1"}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    net_cloud.osc("port", "set", "--host", "compute1", port["id"], json_out=False)
    shown = api("GET", f"/ports/{port['id']}").json()["port"]
    assert shown["binding:host_id"] == "compute1" and shown["binding:vif_type"] == "bridge"
    assert shown["binding:vif_details"] == {"port_filter": True, "connectivity": "l2"}
    assert shown["status"] == "DOWN"
    assert [p["id"] for p in api("GET", "/ports?binding:host_id=compute1").json()["ports"]] == [port["id"]]
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"mac_address": "fa:16:3e:00:11:22"}})
    assert api.error(r, 409)["type"] == "PortBound"
    net_cloud.osc("port", "unset", "--host", port["id"], json_out=False)
    shown = api("GET", f"/ports/{port['id']}").json()["port"]
    assert shown["binding:host_id"] == "" and shown["binding:vif_type"] == "unbound"
    assert shown["binding:vif_details"] == {}
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"binding:vnic_type": "direct", "binding:host_id": "c2"}})
    assert r.json()["port"]["binding:vif_type"] == "binding_failed"    # Linux bridge binds normal ports only
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"binding:vnic_type": "sriov"}})
    assert api.error(r, 400)
    member.api("DELETE", f"/ports/{port['id']}")
    member.api("DELETE", f"/networks/{net['id']}")


def test_port_security_rules(api, lan):
    net, _sub = lan
    off = api.create("port", network_id=net["id"], port_security_enabled=False)
    assert off["security_groups"] == [] and off["port_security_enabled"] is False
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "port_security_enabled": False,
                                             "security_groups": [off["id"]]}})
    assert api.error(r, 400)["type"] == "PortSecurityAndIPRequiredForSecurityGroups"
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "port_security_enabled": False,
                                             "allowed_address_pairs": [{"ip_address": "10.200.0.9"}]}})
    assert api.error(r, 409)["type"] == "AddressPairAndPortSecurityRequired"
    on = api.create("port", network_id=net["id"], allowed_address_pairs=[{"ip_address": "10.200.0.9"}])
    r = api("PUT", f"/ports/{on['id']}", json={"port": {"port_security_enabled": False}})
    assert api.error(r, 409)["type"] == "AddressPairAndPortSecurityRequired"
    r = api("PUT", f"/ports/{on['id']}", json={"port": {"port_security_enabled": False, "allowed_address_pairs": []}})
    err = api.error(r, 409)
    assert err["type"] == "PortSecurityPortHasSecurityGroup" and "security group is removed" in err["message"]
    r = api("PUT", f"/ports/{on['id']}", json={"port": {"port_security_enabled": False, "allowed_address_pairs": [],
                                                        "security_groups": []}})
    assert r.status_code == 200 and r.json()["port"]["port_security_enabled"] is False
    too_many = [{"ip_address": f"10.200.1.{i}"} for i in range(11)]
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "allowed_address_pairs": too_many}})
    err = api.error(r, 400)
    assert err["type"] == "AllowedAddressPairExhausted"
    assert err["message"] == "The number of allowed address pair exceeds the maximum 10."
    r = api("POST", "/ports", json={"port": {"network_id": net["id"], "allowed_address_pairs": [{"mac_address":
                                                                                             "fa:16:3e:00:00:01"}]}})
    assert api.error(r, 400)["type"] == "AllowedAddressPairsMissingIP"
    # a network without port security makes ports without it (and without groups)
    plain = api.create("network", name=unique("nosec"), port_security_enabled=False)
    p = api.create("port", network_id=plain["id"])
    assert p["port_security_enabled"] is False and p["security_groups"] == []
    for x in (off, on, p):
        api("DELETE", f"/ports/{x['id']}")
    api("DELETE", f"/networks/{plain['id']}")


def test_extra_dhcp_opts(api, lan):
    net, _sub = lan
    port = api.create("port", network_id=net["id"], extra_dhcp_opts=[
        {"opt_name": "bootfile-name", "opt_value": "pxelinux.0"},
        {"opt_name": "tftp-server", "opt_value": "192.0.2.10", "ip_version": 4}])
    assert sorted((o["opt_name"], o["opt_value"], o["ip_version"]) for o in port["extra_dhcp_opts"]) == [
        ("bootfile-name", "pxelinux.0", 4), ("tftp-server", "192.0.2.10", 4)]
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"extra_dhcp_opts": [
        {"opt_name": "bootfile-name", "opt_value": None}, {"opt_name": "tftp-server", "opt_value": "192.0.2.11"},
        {"opt_name": "dns-server", "opt_value": "fd00::53", "ip_version": 6}]}})
    assert sorted((o["opt_name"], o["opt_value"], o["ip_version"]) for o in r.json()["port"]["extra_dhcp_opts"]) == [
        ("dns-server", "fd00::53", 6), ("tftp-server", "192.0.2.11", 4)]
    r = api("PUT", f"/ports/{port['id']}", json={"port": {"extra_dhcp_opts": [{"opt_name": "x"}]}})
    assert "No valid key specs matched" in api.error(r, 400)["message"]
    api("DELETE", f"/ports/{port['id']}")


def test_member_ports_on_shared_network_and_policies(api, member):
    shared = api.create("network", name=unique("shared"), shared=True)
    sub = api.create("subnet", network_id=shared["id"], ip_version=4, cidr="10.204.0.0/24")
    mine = member.api.create("port", network_id=shared["id"])
    assert mine["project_id"] == member.project_id and mine["fixed_ips"][0]["subnet_id"] == sub["id"]
    r = member.api("POST", "/ports", json={"port": {"network_id": shared["id"], "mac_address": "fa:16:3e:01:02:03"}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    r = member.api("POST", "/ports", json={"port": {"network_id": shared["id"], "device_owner": "network:dhcp"}})
    assert member.api.error(r, 403)["type"] == "PolicyNotAuthorized"
    fixed = member.api.create("port", network_id=shared["id"], fixed_ips=[{"ip_address": "10.204.0.99"}])
    assert ips(fixed) == ["10.204.0.99"]
    admin_port = api.create("port", network_id=shared["id"])
    assert member.api.error(member.api("GET", f"/ports/{admin_port['id']}"), 404)["type"] == "PortNotFound"
    seen = {p["id"] for p in member.api("GET", "/ports").json()["ports"]}
    assert {mine["id"], fixed["id"]} <= seen and admin_port["id"] not in seen
    # the network's owner sees every port on it
    assert mine["id"] in {p["id"] for p in api("GET", f"/ports?network_id={shared['id']}").json()["ports"]}
    for p in (mine, fixed):
        assert member.api("DELETE", f"/ports/{p['id']}").status_code == 204
    api("DELETE", f"/ports/{admin_port['id']}")
    api("DELETE", f"/networks/{shared['id']}")


def test_router_ports_are_deleted_through_their_router(api, lan):
    net, sub = lan
    r = api("POST", "/routers", json={"router": {"name": unique("r")}})
    assert r.status_code == 201, r.text
    router = r.json()["router"]
    port = api.create("port", network_id=net["id"], device_owner="network:router_interface",
                      device_id=router["id"])
    r = api("DELETE", f"/ports/{port['id']}")
    err = api.error(r, 409)
    assert err["type"] == "ServicePortInUse"
    assert err["message"] == (f"Port {port['id']} cannot be deleted directly via the port API: has device owner "
                              "network:router_interface.")
    r = api("DELETE", f"/subnets/{sub['id']}")
    assert api.error(r, 409)["type"] == "SubnetInUse"
    api("PUT", f"/ports/{port['id']}", json={"port": {"device_owner": "", "device_id": ""}})
    assert api("DELETE", f"/ports/{port['id']}").status_code == 204
    api("DELETE", f"/routers/{router['id']}")


def test_port_quota(net_cloud, api, tmp_path):
    from tests.functional.network.conftest import make_member

    m = make_member(net_cloud, tmp_path)
    net = m.api.create("network", name=unique("q"))
    net_cloud.osc("quota", "set", "--ports", "2", m.project_id, json_out=False)
    for _ in range(2):
        m.api.create("port", network_id=net["id"])
    r = m.api("POST", "/ports", json={"port": {"network_id": net["id"]}})
    assert m.api.error(r, 409)["message"] == "Quota exceeded for resources: ['port']."
    assert len(m.api("GET", "/ports").json()["ports"]) == 2


def test_openstacksdk_create_port(member):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OS_CLIENT_CONFIG_FILE", str(member.clouds_file))
        conn = openstack.connect(cloud="member")
    net = conn.network.create_network(name=unique("sdk"))
    sub = conn.network.create_subnet(network_id=net.id, ip_version=4, cidr="10.205.0.0/24", name=unique("sdk"))
    port = conn.network.create_port(network_id=net.id, name=unique("sdk"),
                                    fixed_ips=[{"subnet_id": sub.id, "ip_address": "10.205.0.10"}])
    assert port.fixed_ips == [{"subnet_id": sub.id, "ip_address": "10.205.0.10"}]
    assert port.status == "DOWN" and port.is_port_security_enabled is True
    assert [p.id for p in conn.network.ports(network_id=net.id)] == [port.id]
    port = conn.network.update_port(port, name="renamed", admin_state_up=False)
    assert port.name == "renamed" and port.is_admin_state_up is False
    assert conn.network.find_port("renamed").id == port.id
    conn.network.delete_port(port)
    assert conn.network.find_port(port.id) is None
    conn.network.delete_subnet(sub)
    conn.network.delete_network(net)


def test_bulk_ports_and_extensions(api, lan):
    net, _sub = lan
    r = api("POST", "/ports", json={"ports": [{"network_id": net["id"], "name": "b1"},
                                              {"network_id": net["id"], "name": "b2"}]})
    assert r.status_code == 201 and [p["name"] for p in r.json()["ports"]] == ["b1", "b2"]
    made = r.json()["ports"]
    r = api("POST", "/ports", json={"ports": [{"network_id": net["id"], "name": "b3"},
                                              {"network_id": net["id"], "mac_address": made[0]["mac_address"]}]})
    assert api.error(r, 409)["type"] == "MacAddressInUse"
    assert api("GET", "/ports?name=b3").json()["ports"] == []         # all or nothing
    for p in made:
        api("DELETE", f"/ports/{p['id']}")
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"binding", "allowed-address-pairs", "extra_dhcp_opt", "port-security", "ip-substring-filtering",
            "network-ip-availability"} <= aliases


def test_network_ip_availability(net_cloud, api, member):
    net = api.create("network", name=unique("avail"))
    sub = api.create("subnet", network_id=net["id"], ip_version=4, cidr="10.206.0.0/24",
                     allocation_pools=[{"start": "10.206.0.10", "end": "10.206.0.19"}])
    ports = [api.create("port", network_id=net["id"]) for _ in range(3)]
    shown = net_cloud.osc("ip", "availability", "show", net["id"])
    assert shown["total_ips"] == 10 and shown["used_ips"] == 3
    body = api("GET", f"/network-ip-availabilities/{net['id']}").json()["network_ip_availability"]
    assert body["subnet_ip_availability"] == [{"subnet_id": sub["id"], "subnet_name": "", "cidr": "10.206.0.0/24",
                                               "ip_version": 4, "total_ips": 10, "used_ips": 3}]
    listed = api("GET", f"/network-ip-availabilities?network_id={net['id']}").json()["network_ip_availabilities"]
    assert [x["network_id"] for x in listed] == [net["id"]]
    assert member.api.error(member.api("GET", "/network-ip-availabilities"), 403)["type"] == "PolicyNotAuthorized"
    for p in ports:
        api("DELETE", f"/ports/{p['id']}")
    api("DELETE", f"/networks/{net['id']}")
