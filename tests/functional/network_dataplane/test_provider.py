"""A provider (flat) network made real: DHCP from dnsmasq, traffic to the provider side, security
group rules opening and closing a port, anti-spoofing, and metadata through the DHCP namespace
(a network without a router: Neutron's isolated metadata)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from tests.functional.network_dataplane.conftest import ash, provider_network, provider_side, wait_for

pytestmark = pytest.mark.root
SECRET = "s3cret-for-the-test"


async def test_flat_network_dhcp_traffic_and_security_groups(lab, metadata_server):
    net, _ = await provider_network(lab)
    ext = provider_side(lab, "n1")
    await lab.start_agents("n1", interface_mappings={"provider": "eth1"}, metadata_url=metadata_server.url,
                           metadata_secret=SECRET)
    sg = await lab.create("security_group", collection="security-groups", name="web")
    port = await lab.create("port", network_id=net["id"], security_groups=[sg["id"]], device_owner="compute:nova",
                            device_id="vm-1", **{"binding:host_id": "n1"})
    vm = lab.instance("n1", port, "vm1")
    await lab.wait_active(port["id"])
    lease = await lab.dhcp(vm)
    ip = port["fixed_ips"][0]["ip_address"]
    assert lease["ip"] == ip and lease["mask"] == "24" and lease["mtu"] == "1500"
    assert "203.0.113.1" in lease["router"] and lease["hostname"].startswith("host-203-0-113-")
    # no router on the subnet: metadata goes through the DHCP port (a classless static route)
    dhcp_ports = (await lab.api("GET", f"/ports?network_id={net['id']}&device_owner=network:dhcp"))["ports"]
    assert len(dhcp_ports) == 1 and dhcp_ports[0]["binding:host_id"] == "n1"
    dhcp_ip = dhcp_ports[0]["fixed_ips"][0]["ip_address"]
    assert f"169.254.169.254/32 {dhcp_ip}" in lease["staticroutes"].replace(",", " ") or \
        "169.254.169.254/32" in lease["staticroutes"], lease
    await lab.wait_active(dhcp_ports[0]["id"])
    got = await wait_for("metadata through the DHCP namespace",
                         lambda: lab.get(vm, "http://169.254.169.254/openstack/latest/meta_data.json"), 60)
    assert json.loads(got.split(" ", 1)[1]) == {"uuid": "vm-1"}
    seen = metadata_server.seen[-1]
    assert seen["x-instance-id"] == "vm-1" and seen["x-forwarded-for"] == ip
    assert seen["x-instance-id-signature"] == hmac.new(SECRET.encode(), b"vm-1", hashlib.sha256).hexdigest()
    assert seen["x-tenant-id"] == port["project_id"] and seen["path"] == "/openstack/latest/meta_data.json"

    # out to the provider side: allowed by the group's egress rules
    lab.serve(ext, 8081)
    assert await lab.connect(vm, "203.0.113.1", 8081) == f"peer={ip}"
    # in from the provider side: nothing allows it until a rule does, and not after it is gone
    lab.serve(vm, 8080)
    assert await lab.connect(ext, ip, 8080, timeout=1) is None
    rule = await lab.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                            direction="ingress", protocol="tcp", port_range_min=8080, port_range_max=8080)
    await wait_for("the rule to open tcp/8080", lambda: lab.connect(ext, ip, 8080, timeout=1), 60)
    await lab.api("DELETE", f"/security-group-rules/{rule['id']}")

    async def closed() -> bool:
        return await lab.connect(ext, ip, 8080, timeout=1) is None
    await wait_for("the rule's removal to close tcp/8080", closed, 60)

    # an address that is not the port's gets nowhere; the port's own does again
    await ash("ip", "addr", "flush", "dev", "eth0", ns=vm)
    await ash("ip", "addr", "add", "203.0.113.250/24", "dev", "eth0", ns=vm)
    assert await lab.connect(vm, "203.0.113.1", 8081, timeout=1) is None
    await ash("ip", "addr", "flush", "dev", "eth0", ns=vm)
    await ash("ip", "addr", "add", f"{ip}/24", "dev", "eth0", ns=vm)
    assert await lab.connect(vm, "203.0.113.1", 8081) == f"peer={ip}"


async def test_an_address_given_again_to_another_port_gets_its_lease(lab):
    # dnsmasq keeps a lease until it expires: the address of a deleted port, given to a new port
    # with another MAC, must still be offered to that port (the agent releases the old lease)
    net, subnet = await provider_network(lab)
    provider_side(lab, "n1")
    await lab.start_agents("n1", kinds=("l2", "dhcp"), interface_mappings={"provider": "eth1"})
    ip = "203.0.113.77"
    fixed = [{"subnet_id": subnet["id"], "ip_address": ip}]
    first = await lab.create("port", network_id=net["id"], device_owner="compute:nova", device_id="vm-a",
                             fixed_ips=fixed, **{"binding:host_id": "n1"})
    vm = lab.instance("n1", first, "vma")
    await lab.wait_active(first["id"])
    assert (await lab.dhcp(vm))["ip"] == ip
    await lab.api("DELETE", f"/ports/{first['id']}")
    await ash("ip", "netns", "del", vm)
    second = await lab.create("port", network_id=net["id"], device_owner="compute:nova", device_id="vm-b",
                              fixed_ips=fixed, **{"binding:host_id": "n1"})
    assert second["mac_address"] != first["mac_address"]
    vm = lab.instance("n1", second, "vmb")
    await lab.wait_active(second["id"])
    assert (await lab.dhcp(vm))["ip"] == ip


async def test_a_port_the_host_cannot_wire_is_error_and_the_agent_goes_on(lab, caplog):
    net, _ = await provider_network(lab)
    provider_side(lab, "n1")
    await lab.start_agents("n1", kinds=("l2",), interface_mappings={"provider": "eth1"})
    other = await lab.create("network", name="elsewhere", **{
        "provider:network_type": "flat", "provider:physical_network": "not-on-this-host"})
    await lab.create("subnet", network_id=other["id"], cidr="198.51.100.0/24", ip_version=4)
    stray = await lab.create("port", network_id=other["id"], device_owner="compute:nova", device_id="vm-x",
                             **{"binding:host_id": "n1"})
    lab.instance("n1", stray, "vmx")

    async def is_error() -> bool:
        return await lab.port_status(stray["id"]) == "ERROR"
    await wait_for("the unwirable port to be ERROR", is_error, 60)
    assert "not-on-this-host" in caplog.text and "no interface mapping" in caplog.text
    # the agent still wires what it can
    fine = await lab.create("port", network_id=net["id"], device_owner="compute:nova", device_id="vm-y",
                            **{"binding:host_id": "n1"})
    lab.instance("n1", fine, "vmy")
    await lab.wait_active(fine["id"])
