"""100 ports on one host: how long the agents take to wire them from cold, and to converge after a
restart with changes made meanwhile. Prints the figures; checks only that it converges (the waits are
generous limits, never a benchmark)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from nubes.network.agent import firewall
from tests.functional.network_dataplane.conftest import ash, provider_network, sh, wait_for

pytestmark = pytest.mark.root
PORTS = 100


async def _idle(agent) -> bool:
    return agent._queue.empty() and not agent._pending and agent.applied_ruleset is not None


async def test_one_hundred_ports_cold_start_and_restart(lab):
    net, _ = await provider_network(lab)
    node = lab.ns("n1")
    sh("ip", "-n", node, "link", "add", "eth1", "type", "veth", "peer", "name", "eth1-peer")
    sg = await lab.create("security_group", collection="security-groups", name="many")
    ports = await lab.api("POST", "/ports", json={"ports": [
        {"network_id": net["id"], "security_groups": [sg["id"]], "device_owner": "compute:nova",
         "device_id": f"vm-{i}", "binding:host_id": "n1"} for i in range(PORTS)]})
    ports = ports["ports"]
    # the "instances": veth pairs whose other end stays in the node (no namespace each)
    batch = "".join(f"link add {firewall.device_name(p['id'])} type veth peer name vm{i} address {p['mac_address']}\n"
                    for i, p in enumerate(ports))
    sh("ip", "-n", node, "-batch", "-", input=batch)

    started = time.monotonic()
    runner = await lab.start_agents("n1", kinds=("l2",), interface_mappings={"provider": "eth1"})
    await lab.wait_active(*(p["id"] for p in ports), timeout=120)
    cold = time.monotonic() - started

    await lab.stop_agents("n1")
    gone = ports[:10]
    for p in gone:
        await lab.api("DELETE", f"/ports/{p['id']}")
    await lab.create("security_group_rule", collection="security-group-rules", security_group_id=sg["id"],
                     direction="ingress", protocol="tcp", port_range_min=7777, port_range_max=7777)
    started = time.monotonic()
    runner = await lab.start_agents("n1", kinds=("l2",))

    async def converged() -> bool:
        links = {d["ifname"]: d.get("master") for d in json.loads((await ash("ip", "-j", "link", "show", ns=node)).stdout)}
        table = (await ash("nft", "list", "table", "inet", firewall.TABLE, ns=node, check=False)).stdout
        return all(links[firewall.device_name(p["id"])] is None for p in gone) and table.count("tcp dport 7777") == PORTS - 10
    await wait_for("the restart to converge", converged, 60, interval=0.05)
    restart = time.monotonic() - started
    await wait_for("the first full pass to finish", lambda: _idle(runner.agents["l2"]), 60, interval=0.05)
    full = time.monotonic() - started

    await lab.stop_agents("n1")
    started = time.monotonic()
    runner = await lab.start_agents("n1", kinds=("l2",))
    await asyncio.sleep(0.1)
    await wait_for("an unchanged restart's full pass", lambda: _idle(runner.agents["l2"]), 60, interval=0.05)
    unchanged = time.monotonic() - started
    print(f"\n{PORTS} ports: cold start to all ACTIVE {cold:.2f}s; restart after deleting 10 ports and adding a rule: "
          f"kernel converged in {restart:.2f}s, full pass {full:.2f}s; unchanged restart full pass {unchanged:.2f}s")
