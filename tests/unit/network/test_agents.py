"""Agents report their state over the bus: report_state upserts one row per type and host.

The network service's state object runs on a scratch SQLite database (the real migrations)
and serves ``network.server`` on an in-process bus; the test calls it as an agent would.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from nubes.core import exceptions as core_exc
from nubes.core.bus.inprocess import InProcessBus
from nubes.core.config import Config, CoreConfig
from nubes.core.db import migrate
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from nubes.network import SPEC
from nubes.network.conf import NetworkConfig
from nubes.network.db.models import Agent
from nubes.network.service.runtime import SERVER_TOPIC, NetworkState


@pytest.fixture
async def state(tmp_path):
    config = Config(core=CoreConfig(state_dir=tmp_path))
    config.services["network"] = NetworkConfig(agent_down_time=30)
    db = Database(config.database_url("network"))
    await migrate.upgrade(db, "network", SPEC.migrations, SPEC.metadata())
    bus = InProcessBus()
    await bus.start()
    events: list[tuple[str, dict]] = []

    async def seen(event_type: str, payload: dict) -> None:
        events.append((event_type, payload))

    await bus.subscribe("network.agent.*", seen)
    st = NetworkState(Runtime(name="network", conf=config, db=db, bus=bus))
    await st.start()
    st.events = events
    yield st
    await bus.close()
    await db.close()


def report(agent_type="DHCP agent", host="node1", **kw):
    state = {"agent_type": agent_type, "binary": "nubes-dhcp-agent", "topic": "dhcp_agent", "host": host,
             "availability_zone": "nova", "configurations": {"networks": 0}, "start_flag": False, **kw}
    return {"agent_state": state}


async def rows(st) -> list[Agent]:
    async with st.db.reader() as s:
        return list((await s.execute(select(Agent).order_by(Agent.host))).scalars().all())


async def age(st, agent_id: str, seconds: int) -> None:
    async with st.db.session() as s:
        row = await s.get(Agent, agent_id)
        await s.execute(update(Agent).where(Agent.id == agent_id).values(
            heartbeat_timestamp=row.heartbeat_timestamp - timedelta(seconds=seconds),
            started_at=row.started_at - timedelta(seconds=seconds)))


async def test_first_report_creates_the_agent_and_later_ones_refresh_it(state):
    first = await state.bus.call(SERVER_TOPIC, "report_state", report(start_flag=True))
    assert first["status"] == "new" and first["admin_state_up"] is True
    [row] = await rows(state)
    assert (row.id, row.agent_type, row.host, row.availability_zone) == (first["id"], "DHCP agent", "node1", "nova")
    assert row.configurations == {"networks": 0} and row.description is None
    await age(state, row.id, 10)
    second = await state.bus.call(SERVER_TOPIC, "report_state", report(configurations={"networks": 3}))
    assert second == {"id": first["id"], "status": "alive", "admin_state_up": True}
    [row2] = await rows(state)
    assert row2.heartbeat_timestamp > row.heartbeat_timestamp - timedelta(seconds=10)
    assert row2.started_at == row.started_at - timedelta(seconds=10)      # no start_flag: not restarted
    assert row2.configurations == {"networks": 3}
    await state.bus.call(SERVER_TOPIC, "report_state", report(start_flag=True))
    [row3] = await rows(state)
    assert row3.started_at > row2.started_at
    assert [e for e, _ in state.events] == ["network.agent.create"]


async def test_a_dead_agent_that_reports_again_is_revived(state):
    first = await state.bus.call(SERVER_TOPIC, "report_state", report())
    await age(state, first["id"], 120)
    [row] = await rows(state)
    from nubes.network.service.agents import is_alive

    assert not is_alive(row, state.conf)
    again = await state.bus.call(SERVER_TOPIC, "report_state", report())
    assert again["status"] == "revived" and again["id"] == first["id"]
    assert ("network.agent.update", {"id": first["id"]}) in state.events


async def test_one_row_per_type_and_host_even_when_first_reports_race(state):
    results = await asyncio.gather(*[state.bus.call(SERVER_TOPIC, "report_state", report()) for _ in range(8)])
    assert len({r["id"] for r in results}) == 1
    assert sum(r["status"] == "new" for r in results) == 1
    await state.bus.call(SERVER_TOPIC, "report_state", report(agent_type="L3 agent", topic="l3_agent"))
    await state.bus.call(SERVER_TOPIC, "report_state", report(host="node2"))
    async with state.db.reader() as s:
        assert (await s.execute(select(func.count()).select_from(Agent))).scalar_one() == 3


async def test_bad_reports_are_refused_over_the_bus(state):
    for bad in ({"agent_state": {"binary": "x", "topic": "t", "host": "h"}},
                report(host=""), report(configurations="nope"), {"agent_state": "x"}, report(host=5)):
        with pytest.raises(core_exc.BadRequest, match="Invalid agent state"):
            await state.bus.call(SERVER_TOPIC, "report_state", bad)
    assert await rows(state) == []


async def test_zones_come_from_alive_enabled_dhcp_and_l3_agents(state):
    dhcp = await state.bus.call(SERVER_TOPIC, "report_state", report())
    await state.bus.call(SERVER_TOPIC, "report_state", report(agent_type="L3 agent", topic="l3_agent",
                                                                 availability_zone="az2"))
    await state.bus.call(SERVER_TOPIC, "report_state", report(agent_type="Linux bridge agent", topic="N/A",
                                                                 availability_zone=None))
    zones = await state.agents.availability_zones()
    assert zones == [{"name": "az2", "resource": "router", "state": "available"},
                     {"name": "nova", "resource": "network", "state": "available"}]
    await age(state, dhcp["id"], 60)
    zones = {(z["name"], z["resource"]): z["state"] for z in await state.agents.availability_zones()}
    assert zones == {("az2", "router"): "available", ("nova", "network"): "unavailable"}
    from nubes.network.service import agents

    async with state.db.reader() as s:
        assert await agents.zones(s, state.conf, "dhcp") == []
        assert await agents.zones(s, state.conf, "l3") == ["az2"]
