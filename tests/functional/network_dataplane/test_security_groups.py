"""Security groups on the wire beyond the basics of test_provider: a remote group follows its
members as ports join and leave it, a port with port security off is neither filtered nor
guarded against spoofing, the agents' heartbeats make them alive in the API, and a port whose
device goes away turns DOWN."""

from __future__ import annotations

import pytest

from tests.functional.network_dataplane.conftest import ash, provider_network, provider_side, wait_for

pytestmark = pytest.mark.root


async def test_remote_groups_port_security_off_heartbeats_and_down(lab):
    net, _ = await provider_network(lab)
    ext = provider_side(lab, "n1")
    await lab.start_agents("n1", kinds=("l2", "dhcp"), interface_mappings={"provider": "eth1"})
    members = await lab.create("security_group", collection="security-groups", name="members")
    await lab.create("security_group_rule", collection="security-group-rules", security_group_id=members["id"],
                     direction="ingress", protocol="tcp", port_range_min=8080, port_range_max=8080,
                     remote_group_id=members["id"])
    others = await lab.create("security_group", collection="security-groups", name="others")

    async def vm_port(name: str, **body) -> dict:
        return await lab.create("port", network_id=net["id"], device_owner="compute:nova", device_id=name,
                                **{"binding:host_id": "n1"}, **body)
    p1 = await vm_port("vm-1", security_groups=[members["id"]])
    p2 = await vm_port("vm-2", security_groups=[members["id"]])
    p3 = await vm_port("vm-3", security_groups=[others["id"]])
    p4 = await vm_port("vm-4", security_groups=[], port_security_enabled=False)
    vms = [lab.instance("n1", p, f"vm{i}") for i, p in enumerate((p1, p2, p3, p4), 1)]
    await lab.wait_active(p1["id"], p2["id"], p3["id"], p4["id"])
    ips = [(await lab.dhcp(vm))["ip"] for vm in vms]
    assert ips == [p["fixed_ips"][0]["ip_address"] for p in (p1, p2, p3, p4)]
    vm1, vm2, vm3, vm4 = vms
    lab.serve(vm1, 8080)

    # only members of the remote group get in; not another group's port, not the provider side
    assert await lab.connect(vm2, ips[0], 8080) == f"peer={ips[1]}"
    assert await lab.connect(vm3, ips[0], 8080, timeout=1) is None
    assert await lab.connect(ext, ips[0], 8080, timeout=1) is None
    # vm3 joins the group: its address joins the set; it leaves: out again
    await lab.api("PUT", f"/ports/{p3['id']}", json={"port": {"security_groups": [members["id"]]}})
    got = await wait_for("vm3 let in as a member", lambda: lab.connect(vm3, ips[0], 8080, timeout=1), 60)
    assert got == f"peer={ips[2]}"
    await lab.api("PUT", f"/ports/{p3['id']}", json={"port": {"security_groups": [others["id"]]}})

    async def shut_out() -> bool:
        return await lab.connect(vm3, ips[0], 8080, timeout=1) is None
    await wait_for("vm3 shut out again", shut_out, 60)
    assert await lab.connect(vm2, ips[0], 8080) == f"peer={ips[1]}"

    # port security off: reachable from anywhere, and may send from an address that is not its own
    lab.serve(vm4, 8080)
    assert await lab.connect(ext, ips[3], 8080) == "peer=203.0.113.1"
    lab.serve(ext, 8081)
    await ash("ip", "addr", "flush", "dev", "eth0", ns=vm4)
    await ash("ip", "addr", "add", "203.0.113.251/24", "dev", "eth0", ns=vm4)
    assert await lab.connect(vm4, "203.0.113.1", 8081) == "peer=203.0.113.251"
    # ... which the same spoofing from a filtered port does not get away with
    await ash("ip", "addr", "flush", "dev", "eth0", ns=vm3)
    await ash("ip", "addr", "add", "203.0.113.252/24", "dev", "eth0", ns=vm3)
    assert await lab.connect(vm3, "203.0.113.1", 8081, timeout=1) is None

    # the agents' heartbeats: alive in the API, with what they serve
    agents = (await lab.api("GET", "/agents?host=n1"))["agents"]
    assert sorted(a["agent_type"] for a in agents) == ["DHCP agent", "Linux bridge agent"]
    assert all(a["alive"] and a["admin_state_up"] for a in agents), agents
    l2 = next(a for a in agents if a["agent_type"] == "Linux bridge agent")
    assert l2["configurations"]["interface_mappings"] == {"provider": "eth1"}

    # an instance's device goes away (the instance is deleted): its port is DOWN, the others stay ACTIVE
    await ash("ip", "link", "del", "eth0", ns=vm2)

    async def down() -> bool:
        return await lab.port_status(p2["id"]) == "DOWN"
    await wait_for("vm2's port DOWN", down, 60)
    assert [await lab.port_status(p["id"]) for p in (p1, p3, p4)] == ["ACTIVE"] * 3
