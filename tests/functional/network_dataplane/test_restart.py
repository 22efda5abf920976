"""Restarts: changes made while the agents are stopped are found when they start again, and once
everything is deleted nothing of theirs is left (bridges, VXLAN devices, namespaces, nft table,
dnsmasq); a restart with nothing changed disturbs no traffic."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest

from nubes.network.agent import firewall
from tests.functional.network_dataplane.conftest import (
    NETCHECK,
    ash,
    provider_network,
    provider_side,
    wait_for,
)

pytestmark = pytest.mark.root


def _dnsmasq_of(path: str) -> list[int]:
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"dnsmasq") and any(path.encode() in a for a in args):
            out.append(int(pid))
    return out


async def _links(ns: str) -> dict[str, str]:
    """name -> its master's name ("" when none) in ``ns``."""
    import json

    data = json.loads((await ash("ip", "-j", "link", "show", ns=ns)).stdout)
    return {d["ifname"]: d.get("master", "") for d in data}


async def test_changes_while_stopped_then_everything_deleted(lab):
    net, _ = await provider_network(lab, external=True)
    ext = provider_side(lab, "n1")
    mappings = {"provider": "eth1"}
    await lab.start_agents("n1", interface_mappings=mappings, local_ip="192.0.2.11")
    sg = await lab.create("security_group", collection="security-groups", name="g")
    ports = [await lab.create("port", network_id=net["id"], security_groups=[sg["id"]], device_owner="compute:nova",
                              device_id=f"vm-{i}", **{"binding:host_id": "n1"}) for i in (1, 3)]
    vm1, vm3 = lab.instance("n1", ports[0], "vm1"), lab.instance("n1", ports[1], "vm3")
    priv = await lab.create("network", name="private")
    psub = await lab.create("subnet", network_id=priv["id"], cidr="172.16.5.0/24", ip_version=4)
    router = await lab.create("router", name="r", external_gateway_info={"network_id": net["id"]})
    await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": psub["id"]})
    await lab.wait_active(*(p["id"] for p in ports))
    ip3 = (await lab.dhcp(vm3))["ip"]
    await lab.dhcp(vm1)
    node = lab.ns("n1")
    priv_bridge = firewall.bridge_name(priv["id"])
    await wait_for("the router namespace", lambda: os.path.exists(f"/run/netns/qrouter-{router['id']}"), 60)
    await wait_for("the private network's bridge", lambda: _has(node, priv_bridge), 60)
    lab.serve(vm3, 9090)
    assert await lab.connect(ext, ip3, 9090, timeout=1) is None

    await lab.stop_agents("n1")
    await lab.api("DELETE", f"/ports/{ports[0]['id']}")
    await lab.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                     direction="ingress", protocol="tcp", port_range_min=9090, port_range_max=9090)
    await lab.api("PUT", f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": psub["id"]})
    await lab.api("DELETE", f"/routers/{router['id']}")
    await lab.api("DELETE", f"/networks/{priv['id']}")

    started = time.monotonic()
    await lab.start_agents("n1")
    await wait_for("the new rule to open tcp/9090", lambda: lab.connect(ext, ip3, 9090, timeout=1), 60)

    async def converged() -> bool:
        links = await _links(node)
        return (links.get(firewall.device_name(ports[0]["id"])) == "" and priv_bridge not in links
                and not os.path.exists(f"/run/netns/qrouter-{router['id']}")
                and not os.path.exists(f"/run/netns/qdhcp-{priv['id']}"))
    await wait_for("the deletions made while stopped", converged, 60)
    print(f"\nconverged {time.monotonic() - started:.2f}s after the restart")

    # everything goes: nothing of the agents is left behind
    await lab.api("DELETE", f"/ports/{ports[1]['id']}")
    await lab.api("DELETE", f"/networks/{net['id']}")
    state = str(lab.settings["n1"].state_path)

    async def nothing_left() -> bool:
        links = await _links(node)
        tables = (await ash("nft", "list", "tables", ns=node)).stdout
        spaces = [n for n in os.listdir("/run/netns") if n.endswith((net["id"], priv["id"], router["id"]))]
        return (not [n for n in links if n.startswith(("brq", "vxlan-"))] and firewall.TABLE not in tables
                and not spaces and not _dnsmasq_of(state))
    await wait_for("nothing of the agents left", nothing_left, 60)
    assert "eth1" in await _links(node)      # the provider interface is only unplugged


async def _has(ns: str, name: str) -> bool:
    return name in await _links(ns)


def _idle(runner) -> bool:
    return all(a._queue.empty() and not a._pending for a in runner.agents.values())


async def test_a_restart_leaves_traffic_alone(lab):
    """Stopping the agents leaves the data plane as it is, and starting them again (the first full
    pass re-applying every ruleset) changes nothing: connections through SNAT and a floating IP
    live on, dnsmasq, the namespaces and the devices stay the same."""
    ext_net, _ = await provider_network(lab, external=True)
    ext = provider_side(lab, "n1")
    await lab.start_agents("n1", interface_mappings={"provider": "eth1"}, local_ip="192.0.2.11")
    priv = await lab.create("network", name="private")
    sub = await lab.create("subnet", network_id=priv["id"], cidr="172.16.7.0/24", ip_version=4)
    router = await lab.create("router", name="r", external_gateway_info={"network_id": ext_net["id"]})
    await lab.api("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": sub["id"]})
    sg = await lab.create("security_group", collection="security-groups", name="echo")
    await lab.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                     direction="ingress", protocol="tcp", port_range_min=7070, port_range_max=7070)
    await lab.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                     direction="ingress", protocol="udp", port_range_min=7070, port_range_max=7070)
    port = await lab.create("port", network_id=priv["id"], security_groups=[sg["id"]], device_owner="compute:nova",
                            device_id="vm-1", **{"binding:host_id": "n1"})
    vm = lab.instance("n1", port, "vm1")
    await lab.wait_active(port["id"])
    await lab.dhcp(vm)
    fip = await lab.create("floatingip", floating_network_id=ext_net["id"], port_id=port["id"])
    for ns, port_number in ((ext, 7071), (vm, 7070)):
        lab.echo(ns, port_number)
        lab.echo(ns, port_number, udp=True)
    async def echoes(ns: str, host: str, port: int) -> bool:
        res = await ash(sys.executable, NETCHECK, "stream", host, str(port), "0.2", ns=ns, check=False)
        return res.returncode == 0

    await wait_for("the floating IP to answer", lambda: echoes(ext, fip["floating_ip_address"], 7070), 60)
    await wait_for("the agents to settle", lambda: _idle(lab.runners["n1"]), 60)

    node = lab.ns("n1")
    state = str(lab.settings["n1"].state_path)
    before = (await _links(node), _dnsmasq_of(state), os.stat(f"/run/netns/qrouter-{router['id']}").st_ino,
              os.stat(f"/run/netns/qdhcp-{priv['id']}").st_ino,
              (await ash("ip", "-j", "link", "show", ns=node)).stdout.count('"ifindex"'))
    # out through the floating IP's SNAT, and in through its DNAT: a TCP connection each, kept busy,
    # and a UDP flow each that must lose no datagram
    flows = [lab.stream(vm, "203.0.113.1", 7071, 8), lab.stream(ext, fip["floating_ip_address"], 7070, 8),
             lab.stream(vm, "203.0.113.1", 7071, 8, udp=True),
             lab.stream(ext, fip["floating_ip_address"], 7070, 8, udp=True)]
    await lab.stop_agents("n1")
    await asyncio.sleep(1)
    runner = await lab.start_agents("n1")
    await asyncio.sleep(0.5)
    await wait_for("the first full pass after the restart", lambda: _idle(runner), 60)
    for p in flows:
        text, _ = await asyncio.to_thread(p.communicate, timeout=60)
        assert p.returncode == 0 and text.startswith("ok"), text
    after = (await _links(node), _dnsmasq_of(state), os.stat(f"/run/netns/qrouter-{router['id']}").st_ino,
             os.stat(f"/run/netns/qdhcp-{priv['id']}").st_ino,
             (await ash("ip", "-j", "link", "show", ns=node)).stdout.count('"ifindex"'))
    assert after == before
    assert await echoes(ext, fip["floating_ip_address"], 7070) and await echoes(vm, "203.0.113.1", 7071)
