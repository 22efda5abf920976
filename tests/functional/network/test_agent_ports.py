"""The two ``network.server`` calls of the DHCP and metadata agents: ``get_dhcp_port`` (a host's DHCP
port on a network, made once and kept in step with the network's DHCP subnets) and ``find_port``
(the instance port behind a source address, on a network or behind a router)."""

from __future__ import annotations

import pytest

from nubes.core.exceptions import BadRequest, NotFound
from nubes.network.service.host_state import dhcp_device_id
from tests.functional.network import inprocess


@pytest.fixture
async def net(tmp_path):
    n = await inprocess.start(tmp_path)
    yield n
    await n.close()


async def test_the_dhcp_port_is_made_once_and_follows_the_subnets(net):
    network = await net.create("network", name="n")
    first = await net.create("subnet", network_id=network["id"], cidr="10.1.0.0/24", ip_version=4)
    port = await net.call("get_dhcp_port", host="net1", network_id=network["id"])
    assert port["device_owner"] == "network:dhcp" and port["host"] == "net1"
    assert port["device_id"] == dhcp_device_id("net1", network["id"])
    assert [ip["subnet_id"] for ip in port["fixed_ips"]] == [first["id"]]
    again = await net.call("get_dhcp_port", host="net1", network_id=network["id"])
    assert again["id"] == port["id"] and again["fixed_ips"] == port["fixed_ips"]
    # a second DHCP subnet: the same port gets an address there too, the first address is kept
    second = await net.create("subnet", network_id=network["id"], cidr="10.2.0.0/24", ip_version=4)
    grown = await net.call("get_dhcp_port", host="net1", network_id=network["id"])
    assert grown["id"] == port["id"]
    assert {ip["subnet_id"]: ip["ip_address"] for ip in grown["fixed_ips"]} == {
        first["id"]: port["fixed_ips"][0]["ip_address"], second["id"]: grown["fixed_ips"][1]["ip_address"]}
    # DHCP off on the first: its address goes
    r = await net.http.put(f"/subnets/{first['id']}", json={"subnet": {"enable_dhcp": False}})
    assert r.status_code == 200, r.text
    shrunk = await net.call("get_dhcp_port", host="net1", network_id=network["id"])
    assert [ip["subnet_id"] for ip in shrunk["fixed_ips"]] == [second["id"]]
    listed = (await net.http.get(f"/ports?network_id={network['id']}&device_owner=network:dhcp")).json()["ports"]
    assert [p["id"] for p in listed] == [port["id"]] and listed[0]["binding:host_id"] == "net1"
    # another host has a port of its own
    other = await net.call("get_dhcp_port", host="net2", network_id=network["id"])
    assert other["id"] != port["id"] and other["host"] == "net2"


async def test_get_dhcp_port_refuses_what_it_cannot_serve(net):
    network = await net.create("network", name="n")
    with pytest.raises(BadRequest, match="no subnet with DHCP"):
        await net.call("get_dhcp_port", host="net1", network_id=network["id"])
    await net.create("subnet", network_id=network["id"], cidr="10.1.0.0/24", ip_version=4, enable_dhcp=False)
    with pytest.raises(BadRequest, match="no subnet with DHCP"):
        await net.call("get_dhcp_port", host="net1", network_id=network["id"])
    with pytest.raises(NotFound):
        await net.call("get_dhcp_port", host="net1", network_id="0" * 8 + "-0000-0000-0000-" + "0" * 12)
    with pytest.raises(BadRequest):
        await net.call("get_dhcp_port", host="", network_id=network["id"])
    assert (await net.http.get(f"/ports?network_id={network['id']}")).json()["ports"] == []


async def test_find_port_by_address_on_a_network_or_behind_a_router(net):
    a = await net.create("network", name="a")
    sub_a = await net.create("subnet", network_id=a["id"], cidr="10.1.0.0/24", ip_version=4)
    b = await net.create("network", name="b")
    await net.create("subnet", network_id=b["id"], cidr="10.1.0.0/24", ip_version=4)     # the same addresses
    vm_a = await net.create("port", network_id=a["id"], device_owner="compute:nova", device_id="vm-a")
    vm_b = await net.create("port", network_id=b["id"], device_owner="compute:nova", device_id="vm-b",
                            fixed_ips=[{"ip_address": vm_a["fixed_ips"][0]["ip_address"]}])
    ip = vm_a["fixed_ips"][0]["ip_address"]
    found = await net.call("find_port", ip=ip, network_id=a["id"])
    assert (found["id"], found["device_id"], found["project_id"]) == (vm_a["id"], "vm-a", vm_a["project_id"])
    assert (await net.call("find_port", ip=ip, network_id=b["id"]))["id"] == vm_b["id"]
    router = await net.create("router", name="r")
    r = await net.http.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub_a["id"]})
    assert r.status_code == 200, r.text
    assert (await net.call("find_port", ip=ip, router_id=router["id"]))["id"] == vm_a["id"]
    # the router's own address is no instance's
    with pytest.raises(NotFound):
        await net.call("find_port", ip="10.1.0.1", router_id=router["id"])
    with pytest.raises(NotFound):
        await net.call("find_port", ip="10.1.0.250", network_id=a["id"])
    for bad in ({"ip": ip}, {"ip": ip, "network_id": a["id"], "router_id": router["id"]}, {"network_id": a["id"]}):
        with pytest.raises(BadRequest):
            await net.call("find_port", **bad)
