"""A self-service network behind a router with its gateway on the provider network: SNAT out,
a floating IP in, metadata through the router namespace."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from tests.functional.network_dataplane.conftest import ash, provider_network, provider_side, wait_for

pytestmark = pytest.mark.root
SECRET = "router-secret"


async def test_router_snat_floating_ip_and_metadata(lab, metadata_server):
    ext_net, _ = await provider_network(lab, external=True)
    ext = provider_side(lab, "n1")
    await lab.start_agents("n1", interface_mappings={"provider": "eth1"}, local_ip="192.0.2.11",
                           metadata_url=metadata_server.url, metadata_secret=SECRET)
    priv = await lab.create("network", name="selfservice")
    sub = await lab.create("subnet", network_id=priv["id"], cidr="172.16.1.0/24", ip_version=4,
                           gateway_ip="172.16.1.1", dns_nameservers=["192.0.2.53"])
    router = await lab.create("router", name="r1", external_gateway_info={"network_id": ext_net["id"]})
    await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    gw_ip = (await lab.api("GET", f"/routers/{router['id']}"))["router"]["external_gateway_info"][
        "external_fixed_ips"][0]["ip_address"]
    sg = await lab.create("security_group", collection="security-groups", name="open8080")
    await lab.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                     direction="ingress", protocol="tcp", port_range_min=8080, port_range_max=8080)
    port = await lab.create("port", network_id=priv["id"], security_groups=[sg["id"]], device_owner="compute:nova",
                            device_id="vm-2", **{"binding:host_id": "n1"})
    vm = lab.instance("n1", port, "vm2")
    await lab.wait_active(port["id"])
    lease = await lab.dhcp(vm)
    ip = port["fixed_ips"][0]["ip_address"]
    assert lease["ip"] == ip and lease["mtu"] == "1450" and lease["dns"] == "192.0.2.53"
    router_ports = (await lab.api("GET", f"/ports?device_id={router['id']}"))["ports"]
    await lab.wait_active(*[p["id"] for p in router_ports])

    # out through the router: the provider side sees the router's gateway address (SNAT)
    lab.serve(ext, 8081)
    got = await wait_for("the instance to reach the provider side",
                         lambda: lab.connect(vm, "203.0.113.1", 8081), 60)
    assert got == f"peer={gw_ip}"

    # a floating IP: reachable from the provider side, and the instance's traffic leaves from it
    fip = await lab.create("floatingip", floating_network_id=ext_net["id"], port_id=port["id"])
    lab.serve(vm, 8080)
    got = await wait_for("the floating IP to answer", lambda: lab.connect(ext, fip["floating_ip_address"], 8080), 60)
    assert got == "peer=203.0.113.1"
    assert await lab.connect(vm, "203.0.113.1", 8081) == f"peer={fip['floating_ip_address']}"

    async def fip_active() -> bool:
        return (await lab.api("GET", f"/floatingips/{fip['id']}"))["floatingip"]["status"] == "ACTIVE"
    await wait_for("the floating IP ACTIVE", fip_active, 60)

    # metadata through the router namespace, signed
    got = await wait_for("metadata through the router", lambda: lab.get(vm, "http://169.254.169.254/latest/meta-data/"),
                         20)
    assert got.startswith("200")
    seen = metadata_server.seen[-1]
    assert seen["x-instance-id"] == "vm-2" and seen["x-forwarded-for"] == ip and seen["path"] == "/latest/meta-data/"
    assert seen["x-instance-id-signature"] == hmac.new(SECRET.encode(), b"vm-2", hashlib.sha256).hexdigest()

    # the floating IP goes: the provider side no longer reaches the instance, SNAT goes on
    await lab.api("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}})

    async def unreachable() -> bool:
        return await lab.connect(ext, fip["floating_ip_address"], 8080, timeout=1) is None
    await wait_for("the floating IP to stop answering", unreachable, 60)
    assert await lab.connect(vm, "203.0.113.1", 8081) == f"peer={gw_ip}"


async def test_router_ports_go_active_once_the_l3_agent_has_wired_them(lab):
    """An interface's and the gateway's ports are DOWN until the L3 agent has wired their router
    (devices, addresses, routes, NAT), ACTIVE then, DOWN while the router is disabled."""
    ext_net, _ = await provider_network(lab, external=True)
    provider_side(lab, "n1")
    priv = await lab.create("network", name="wired")
    sub = await lab.create("subnet", network_id=priv["id"], cidr="172.16.9.0/24", ip_version=4)
    router = await lab.create("router", name="r-wired", external_gateway_info={"network_id": ext_net["id"]})
    await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    ports = {p["device_owner"]: p["id"] for p in (await lab.api("GET", f"/ports?device_id={router['id']}"))["ports"]}
    assert set(ports) == {"network:router_interface", "network:router_gateway"}
    assert {await lab.port_status(p) for p in ports.values()} == {"DOWN"}     # no agent yet

    # an L3 agent that makes the devices but fails before the NAT is in: plugged, not wired, DOWN
    runner = await lab.start_agents("n1", interface_mappings={"provider": "eth1"}, local_ip="192.0.2.11")
    l2, l3 = runner.agents["l2"], runner.agents["l3"]
    real_nat = l3._nat

    async def broken_nat(*args):
        raise RuntimeError("nft failed (on purpose)")
    l3._nat = broken_nat                                                      # type: ignore[method-assign]
    node = lab.ns("n1")

    async def plugged() -> bool:
        for pid in ports.values():
            res = await ash("ip", "-o", "link", "show", f"tap{pid[:11]}", ns=node, check=False)
            if "master brq" not in res.stdout:
                return False
        return True
    await wait_for("the router's taps in their bridges", plugged, 60)
    for pid in ports.values():
        await l2.reconcile(("port", pid))        # whatever the L2 agent reports for them, it has now
    assert {await lab.port_status(p) for p in ports.values()} == {"DOWN"}

    # the router wired: ACTIVE
    l3._nat = real_nat                                                        # type: ignore[method-assign]
    l3.enqueue(router["id"])
    await lab.wait_active(*ports.values())
    # disabled, the router's namespace goes and its ports are DOWN; enabled again, ACTIVE
    await lab.api("PUT", f"/routers/{router['id']}", json={"router": {"admin_state_up": False}})

    async def all_down() -> bool:
        return {await lab.port_status(p) for p in ports.values()} == {"DOWN"}
    await wait_for("the disabled router's ports DOWN", all_down, 60)
    await lab.api("PUT", f"/routers/{router['id']}", json={"router": {"admin_state_up": True}})
    await lab.wait_active(*ports.values())
