"""Agents and availability zones through the openstack CLI and raw HTTP.

Agents report over the bus, never to the database: the test runs the network service's own
``network.server`` handlers in this process, on the running cloud's database and an in-process
bus, and calls ``report_state`` as an agent does; the cloud's API then shows what was reported.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from nubes.core.bus.inprocess import InProcessBus
from nubes.core.config import Config, CoreConfig
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from nubes.network.conf import NetworkConfig
from nubes.network.db.models import Agent
from nubes.network.service.runtime import SERVER_TOPIC, NetworkState
from tests.functional.network.conftest import unique


class Reporter:
    """The network service's bus handlers over the cloud's database, called as agents call them."""

    def __init__(self, state_dir) -> None:
        self.state_dir = state_dir

    async def _with_state(self, fn) -> Any:
        config = Config(core=CoreConfig(state_dir=self.state_dir))
        config.services["network"] = NetworkConfig()
        db = Database(config.database_url("network"))
        bus = InProcessBus()
        await bus.start()
        try:
            state = NetworkState(Runtime(name="network", conf=config, db=db, bus=bus))
            await state.start()
            return await fn(state, bus)
        finally:
            await bus.close()
            await db.close()

    def report(self, agent_type: str, host: str, binary: str, topic: str, zone: str | None = None,
               **extra: Any) -> dict:
        payload = {"agent_state": {"agent_type": agent_type, "binary": binary, "topic": topic, "host": host,
                                   "availability_zone": zone, "configurations": extra.pop("conf", {}),
                                   "start_flag": extra.pop("start_flag", True), **extra}}

        async def call(state, bus):
            return await bus.call(SERVER_TOPIC, "report_state", payload)
        return asyncio.run(self._with_state(call))

    def age(self, agent_id: str, seconds: int) -> None:
        """Make the agent's last heartbeat ``seconds`` older (time passing, for the alive check)."""
        async def older(state, _bus):
            async with state.db.session() as s:
                row = await s.get(Agent, agent_id)
                await s.execute(update(Agent).where(Agent.id == agent_id).values(
                    heartbeat_timestamp=row.heartbeat_timestamp - timedelta(seconds=seconds)))
        asyncio.run(self._with_state(older))


@pytest.fixture(scope="module")
def reporter(net_cloud) -> Reporter:
    return Reporter(net_cloud.state_dir)


def test_reported_agents_through_the_cli(net_cloud, reporter):
    host = unique("node")
    dhcp = reporter.report("DHCP agent", host, "nubes-dhcp-agent", "dhcp_agent", "nova", conf={"networks": 0})
    l3 = reporter.report("L3 agent", host, "nubes-l3-agent", "l3_agent", "nova", conf={"routers": 0})
    l2 = reporter.report("Linux bridge agent", host, "nubes-linuxbridge-agent", "N/A")
    assert dhcp["status"] == "new" and len({dhcp["id"], l3["id"], l2["id"]}) == 3
    listed = {a["ID"]: a for a in net_cloud.osc("network", "agent", "list", "--host", host)}
    assert set(listed) == {dhcp["id"], l3["id"], l2["id"]}
    assert listed[dhcp["id"]]["Agent Type"] == "DHCP agent" and listed[dhcp["id"]]["Alive"] is True
    assert listed[dhcp["id"]]["State"] is True and listed[l2["id"]]["Availability Zone"] is None
    only_dhcp = net_cloud.osc("network", "agent", "list", "--host", host, "--agent-type", "dhcp")
    assert [a["ID"] for a in only_dhcp] == [dhcp["id"]]
    shown = net_cloud.osc("network", "agent", "show", dhcp["id"])
    assert shown["binary"] == "nubes-dhcp-agent" and shown["topic"] == "dhcp_agent" and shown["host"] == host
    assert shown["availability_zone"] == "nova" and shown["configuration"] == {"networks": 0}
    assert shown["description"] is None
    # Neutron's time format for agents: "2017-09-12 19:40:38"
    assert len(shown["last_heartbeat_at"]) == 19 and shown["last_heartbeat_at"][10] == " "
    net_cloud.osc("network", "agent", "set", "--disable", "--description", "maintenance", dhcp["id"],
                  json_out=False)
    shown = net_cloud.osc("network", "agent", "show", dhcp["id"])
    assert shown["admin_state_up"] is False and shown["description"] == "maintenance"
    # a later report keeps the row, the admin state and the description
    again = reporter.report("DHCP agent", host, "nubes-dhcp-agent", "dhcp_agent", "nova", start_flag=False)
    assert again == {"id": dhcp["id"], "status": "alive", "admin_state_up": False}
    assert net_cloud.osc("network", "agent", "show", dhcp["id"])["description"] == "maintenance"
    net_cloud.osc("network", "agent", "set", "--enable", dhcp["id"], json_out=False)
    for agent in (dhcp, l3, l2):
        net_cloud.osc("network", "agent", "delete", agent["id"], json_out=False)
    assert net_cloud.osc("network", "agent", "list", "--host", host) == []


def test_alive_follows_the_heartbeat(api, reporter):
    host = unique("node")
    agent = reporter.report("Linux bridge agent", host, "nubes-linuxbridge-agent", "N/A")
    assert api("GET", f"/agents/{agent['id']}").json()["agent"]["alive"] is True
    reporter.age(agent["id"], 600)
    assert api("GET", f"/agents/{agent['id']}").json()["agent"]["alive"] is False
    dead = {a["id"] for a in api("GET", f"/agents?host={host}&alive=false").json()["agents"]}
    assert dead == {agent["id"]}
    assert api("GET", f"/agents?host={host}&alive=true").json()["agents"] == []
    assert reporter.report("Linux bridge agent", host, "nubes-linuxbridge-agent", "N/A")["status"] == "revived"
    assert api("GET", f"/agents/{agent['id']}").json()["agent"]["alive"] is True
    api("DELETE", f"/agents/{agent['id']}")


def test_availability_zones_through_the_cli(net_cloud, api, reporter):
    zone = unique("az")
    host = unique("node")
    dhcp = reporter.report("DHCP agent", host, "nubes-dhcp-agent", "dhcp_agent", zone)
    l3 = reporter.report("L3 agent", host, "nubes-l3-agent", "l3_agent", zone)
    zones = {(z["name"], z["resource"]): z["state"] for z in api("GET", "/availability_zones").json()
             ["availability_zones"]}
    assert zones[(zone, "network")] == "available" and zones[(zone, "router")] == "available"
    cli = [z for z in net_cloud.osc("availability", "zone", "list", "--network") if z["Zone Name"] == zone]
    assert sorted(z["Zone Status"] for z in cli) == ["available", "available"]
    # a network made now lists the zone its DHCP agents are in
    net = api.create("network", name=unique("az-net"))
    assert zone in net["availability_zones"]
    api("DELETE", f"/networks/{net['id']}")
    net_cloud.osc("network", "agent", "set", "--disable", dhcp["id"], json_out=False)
    reporter.age(l3["id"], 600)
    got = api("GET", f"/availability_zones?name={zone}").json()["availability_zones"]
    assert sorted((z["resource"], z["state"]) for z in got) == [("network", "unavailable"),
                                                                ("router", "unavailable")]
    only = api("GET", f"/availability_zones?name={zone}&resource=router&fields=name").json()
    assert only == {"availability_zones": [{"name": zone}]}
    api.error(api("GET", "/availability_zones?bogus=1"), 400)
    for agent in (dhcp, l3):
        api("DELETE", f"/agents/{agent['id']}")
    assert [z for z in api("GET", "/availability_zones").json()["availability_zones"] if z["name"] == zone] == []


def test_agents_are_for_administrators(api, member, reporter):
    agent = reporter.report("Metadata agent", unique("node"), "nubes-metadata-agent", "N/A")
    assert member.api("GET", "/agents").json() == {"agents": []}
    r = member.api("GET", f"/agents/{agent['id']}")
    assert member.api.error(r, 404)["type"] == "AgentNotFound"
    r = member.api("PUT", f"/agents/{agent['id']}", json={"agent": {"admin_state_up": False}})
    member.api.error(r, 404)
    member.api.error(member.api("DELETE", f"/agents/{agent['id']}"), 404)
    denied = member.osc("network", "agent", "delete", agent["id"], check=False, json_out=False)
    assert denied.returncode != 0
    assert api("GET", f"/agents/{agent['id']}").json()["agent"]["admin_state_up"] is True
    # members still see the zones
    assert member.api("GET", "/availability_zones").status_code == 200
    api("DELETE", f"/agents/{agent['id']}")


def test_bad_updates_and_unknown_agents(api, reporter):
    agent = reporter.report("L3 agent", unique("node"), "nubes-l3-agent", "l3_agent", "nova")
    for body, message in (({"host": "x"}, "Cannot update read-only attribute host"),
                          ({"admin_state_up": "maybe"}, "cannot be converted to boolean"),
                          ({"description": "x" * 256}, "exceeds maximum length of 255"),
                          ({"bogus": 1}, "Unrecognized attribute(s) 'bogus'")):
        r = api("PUT", f"/agents/{agent['id']}", json={"agent": body})
        assert message in api.error(r, 400)["message"], body
    r = api("PUT", f"/agents/{agent['id']}", json={"agent": {"description": None}})
    assert r.status_code == 200 and r.json()["agent"]["description"] is None
    missing = "00000000-0000-0000-0000-000000000000"
    err = api.error(api("GET", f"/agents/{missing}"), 404)
    assert err == {"type": "AgentNotFound", "message": f"Agent {missing} could not be found.", "detail": ""}
    api.error(api("DELETE", f"/agents/{missing}"), 404)
    assert api("POST", "/agents", json={"agent": {}}).status_code == 405
    api("DELETE", f"/agents/{agent['id']}")


def test_extensions_are_listed(api):
    aliases = {e["alias"] for e in api("GET", "/extensions").json()["extensions"]}
    assert {"agent", "availability_zone"} <= aliases
