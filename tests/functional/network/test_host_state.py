"""The call agents resync from: the full desired state of one host, and their status reports."""

from __future__ import annotations

import pytest

from tests.functional.network import inprocess


@pytest.fixture
async def net(tmp_path):
    n = await inprocess.start(tmp_path)
    yield n
    await n.close()


def agent(agent_type: str, host: str, **conf) -> dict:
    return {"agent_state": {"agent_type": agent_type, "binary": "nubes-agent", "topic": "agent",
                            "host": host, "availability_zone": "nova", "configurations": conf}}


async def _topology(net) -> dict:
    ext = await net.create("network", name="provider", shared=True, **{
        "router:external": True, "provider:network_type": "flat", "provider:physical_network": "provider"})
    await net.create("subnet", network_id=ext["id"], cidr="203.0.113.0/24", ip_version=4)
    priv = await net.create("network", name="private")
    sub = await net.create("subnet", network_id=priv["id"], cidr="10.0.0.0/24", ip_version=4)
    sg = await net.create("security_group", collection="security-groups", name="web")
    await net.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                     direction="ingress", protocol="tcp", port_range_min=80, port_range_max=80,
                     remote_group_id=sg["id"])
    vm = await net.create("port", network_id=priv["id"], security_groups=[sg["id"]], device_owner="compute:nova",
                          device_id="vm-1", **{"binding:host_id": "compute1"})
    router = await net.create("router", name="r", external_gateway_info={"network_id": ext["id"]})
    r = await net.http.put(f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    assert r.status_code == 200, r.text
    fip = await net.create("floatingip", floating_network_id=ext["id"], port_id=vm["id"])
    return {"ext": ext, "priv": priv, "sub": sub, "sg": sg, "vm": vm, "router": router, "fip": fip}


async def test_compute_host_gets_its_ports_networks_and_groups(net):
    t = await _topology(net)
    await net.call("report_state", **agent("Linux bridge agent", "compute1", tunnel_ip="192.0.2.1"))
    await net.call("report_state", **agent("Linux bridge agent", "network1", tunnel_ip="192.0.2.2"))
    state = await net.call("get_host_state", host="compute1")
    assert [p["id"] for p in state["ports"]] == [t["vm"]["id"]]
    port = state["ports"][0]
    assert port["fixed_ips"][0]["subnet_id"] == t["sub"]["id"] and port["security_groups"] == [t["sg"]["id"]]
    net_state = state["networks"][t["priv"]["id"]]
    assert net_state["network_type"] == "vxlan" and net_state["mtu"] == 1450 and net_state["segmentation_id"]
    assert state["subnets"][t["sub"]["id"]]["cidr"] == "10.0.0.0/24"
    rules = state["security_groups"][t["sg"]["id"]]["rules"]
    assert any(r["port_range_min"] == 80 and r["remote_group_id"] == t["sg"]["id"] for r in rules)
    assert state["remote_group_members"][t["sg"]["id"]] == [port["fixed_ips"][0]["ip_address"]]
    assert state["routers"] == [] and state["dhcp"] == []
    assert state["tunnel_peers"] == [{"host": "network1", "ip": "192.0.2.2"}]


async def test_network_host_gets_routers_floating_ips_and_dhcp(net):
    t = await _topology(net)
    await net.call("report_state", **agent("L3 agent", "network1"))
    await net.call("report_state", **agent("DHCP agent", "network1"))
    state = await net.call("get_host_state", host="network1")
    (router,) = state["routers"]
    assert router["id"] == t["router"]["id"] and router["enable_snat"] is True
    assert router["gateway"]["network_id"] == t["ext"]["id"]
    assert [i["fixed_ips"][0]["ip_address"] for i in router["interfaces"]] == ["10.0.0.1"]
    assert router["floating_ips"] == [{"id": t["fip"]["id"], "floating_ip_address": t["fip"]["floating_ip_address"],
                                       "fixed_ip_address": t["fip"]["fixed_ip_address"], "port_id": t["vm"]["id"],
                                       "status": "DOWN"}]
    dhcp = {d["network_id"]: d for d in state["dhcp"]}
    assert set(dhcp) == {t["ext"]["id"], t["priv"]["id"]}
    assert t["vm"]["id"] in {p["id"] for p in dhcp[t["priv"]["id"]]["ports"]}
    # a second L3 agent does not take a router that has a live one
    await net.call("report_state", **agent("L3 agent", "network2"))
    assert (await net.call("get_host_state", host="network2"))["routers"] == []


async def test_agents_report_port_and_floating_ip_status(net):
    t = await _topology(net)
    assert await net.call("update_port_status", port_id=t["vm"]["id"], status="ACTIVE") == {"found": True}
    assert (await net.http.get(f"/ports/{t['vm']['id']}")).json()["port"]["status"] == "ACTIVE"
    assert await net.call("update_floatingip_status", floatingip_id=t["fip"]["id"], status="ACTIVE") == \
        {"found": True}
    assert (await net.http.get(f"/floatingips/{t['fip']['id']}")).json()["floatingip"]["status"] == "ACTIVE"
    assert await net.call("update_port_status", port_id="gone", status="ACTIVE") == {"found": False}
    from nubes.core.exceptions import BadRequest

    with pytest.raises(BadRequest):
        await net.call("update_port_status", port_id=t["vm"]["id"], status="SIDEWAYS")
