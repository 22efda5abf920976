"""Two nodes over VXLAN: instances of one network on two nodes reach each other (DHCP from the
other node too); instances of two self-service networks are isolated until a router joins them."""

from __future__ import annotations

import pytest

from tests.functional.network_dataplane.conftest import ash, wait_for

pytestmark = pytest.mark.root


async def test_vxlan_between_nodes_and_isolation_until_routed(lab):
    n1, n2 = lab.ns("n1"), lab.ns("n2")
    lab.link(n1, "ul0", n2, "ul0")
    lab.address(n1, "ul0", "192.0.2.11/24")
    lab.address(n2, "ul0", "192.0.2.12/24")
    await lab.start_agents("n1", local_ip="192.0.2.11")
    await lab.start_agents("n2", kinds=("l2",), local_ip="192.0.2.12")
    net_a = await lab.create("network", name="a")
    sub_a = await lab.create("subnet", network_id=net_a["id"], cidr="172.16.10.0/24", ip_version=4)
    net_b = await lab.create("network", name="b")
    sub_b = await lab.create("subnet", network_id=net_b["id"], cidr="172.16.20.0/24", ip_version=4)

    async def vm_port(net: dict, host: str, name: str) -> dict:
        return await lab.create("port", network_id=net["id"], device_owner="compute:nova", device_id=name,
                                **{"binding:host_id": host})
    pa, pb, pc = await vm_port(net_a, "n1", "vm-a"), await vm_port(net_a, "n2", "vm-b"), await vm_port(net_b, "n2", "vm-c")
    vma, vmb, vmc = lab.instance("n1", pa, "vma"), lab.instance("n2", pb, "vmb"), lab.instance("n2", pc, "vmc")
    await lab.wait_active(pa["id"], pb["id"], pc["id"])
    # n2's VXLAN devices flood to n1 and back
    vni = (await lab.api("GET", f"/networks/{net_a['id']}"))["network"]["provider:segmentation_id"]
    out = (await ash("bridge", "fdb", "show", "dev", f"vxlan-{vni}", ns=n2)).stdout
    assert "00:00:00:00:00:00 dst 192.0.2.11" in out, out
    # DHCP from n1's dnsmasq reaches the instances on n2 over the tunnel
    la, lb, lc = await lab.dhcp(vma), await lab.dhcp(vmb), await lab.dhcp(vmc)
    assert (la["ip"], lb["ip"], lc["ip"]) == tuple(p["fixed_ips"][0]["ip_address"] for p in (pa, pb, pc))
    lab.serve(vmb, 8080)
    lab.serve(vmc, 8080)
    assert await lab.connect(vma, lb["ip"], 8080) == f"peer={la['ip']}"
    # another network is another segment: not even an on-link route gets there
    await ash("ip", "route", "add", "172.16.20.0/24", "dev", "eth0", ns=vma)
    assert await lab.connect(vma, lc["ip"], 8080, timeout=1) is None
    await ash("ip", "route", "del", "172.16.20.0/24", "dev", "eth0", ns=vma)
    assert await lab.connect(vma, lc["ip"], 8080, timeout=1) is None
    # a router joins them (on n1, the L3 node)
    router = await lab.create("router", name="r")
    for sub in (sub_a, sub_b):
        await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    got = await wait_for("the router to join the networks", lambda: lab.connect(vma, lc["ip"], 8080, timeout=1), 60)
    assert got == f"peer={la['ip']}"
