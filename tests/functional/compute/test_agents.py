"""Compute agents against the real conductor and database, in-process: heartbeats and the down
state of a stopped agent, the hypervisor rows, what a host's reconcile sees, and the service
delete rules. Times are short (report every 0.1 s, down after 0.6 s)."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest

from nubes.compute.agent.manager import ComputeAgent, node_uuid_of
from nubes.compute.conductor.manager import Conductor
from nubes.compute.conf import ComputeConfig
from nubes.compute.db.queries import aggregates as aq
from nubes.compute.db.models import Aggregate, AggregateHost, Base, Instance, InstanceMetadata, Migration
from nubes.compute.drivers.base import PowerState
from nubes.compute.drivers.fake import FakeDriver
from nubes.compute import exceptions as exc
from nubes.compute.service.hosts import Hosts
from nubes.compute.service.hypervisors import Hypervisors
from nubes.core.bus.inprocess import InProcessBus, MemoryBroker
from nubes.core.config import Config, CoreConfig
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from tests.unit.compute.agent_fakes import FakePlacement

DOWN_TIME = 0.6


class Cell:
    """One compute cell in this process: database, bus, conductor, agents on their own bus links."""

    def __init__(self, tmp) -> None:
        self.broker = MemoryBroker()
        self.conf = ComputeConfig(report_interval=0.1, service_down_time=DOWN_TIME, host="ctl")
        self.placement = FakePlacement()
        self.rt = Runtime(name="compute", conf=Config(core=CoreConfig(state_dir=tmp), services={"compute": self.conf}),
                          db=Database(f"sqlite+aiosqlite:///{tmp}/compute.sqlite"),
                          bus=InProcessBus(self.broker), clients=self.placement)
        self.state = SimpleNamespace(rt=self.rt, db=self.rt.db, conf=self.conf, bus=self.rt.bus)
        self.hosts = Hosts(self.state)
        self.hypervisors = Hypervisors(self.state)
        self.conductor = Conductor(self.rt)
        self.agents: dict[str, ComputeAgent] = {}

    async def start(self) -> None:
        async with self.rt.db.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await self.rt.bus.start()
        await self.conductor.start()

    async def agent(self, host: str) -> ComputeAgent:
        bus = InProcessBus(self.broker)
        await bus.start()
        agent = ComputeAgent(self.rt, host, FakeDriver(host, self.conf), bus=bus)
        await agent.start()
        self.agents[host] = agent
        return agent

    async def close(self) -> None:
        for agent in self.agents.values():
            await agent.stop()
        await self.conductor.stop()
        await self.rt.bus.close()
        await self.rt.db.close()

    async def states(self) -> dict[tuple[str, str], bool]:
        return {(v.row.host, v.row.binary): v.up for v in await self.hosts.list_services()}


async def until(check, timeout: float = 5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await check()):
        if asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)
    return value


@pytest.fixture
async def cell(tmp_path):
    c = Cell(tmp_path)
    await c.start()
    yield c
    await c.close()


async def test_heartbeats_keep_agents_up_and_a_stopped_one_goes_down(cell):
    await cell.agent("h1")
    h2 = await cell.agent("h2")
    assert await until(lambda: _all_up(cell, ["h1", "h2"]))
    states = await cell.states()
    assert states[("ctl", "nova-conductor")] and states[("ctl", "nova-scheduler")]
    await h2.stop()                                          # the host went away
    await asyncio.sleep(DOWN_TIME + 0.3)
    states = await cell.states()
    assert states[("h1", "nova-compute")] is True and states[("h2", "nova-compute")] is False
    views = {v.node.host: v for v in await cell.hypervisors.list()}
    assert views["h1"].up and not views["h2"].up
    # ... and it is up again once its agent is back
    await cell.agent("h2")
    assert await until(lambda: _all_up(cell, ["h1", "h2"]))


async def _all_up(cell, hosts) -> bool:
    states = await cell.states()
    return all(states.get((h, "nova-compute")) for h in hosts)


async def test_the_hypervisor_row_and_the_provider(cell):
    agent = await cell.agent("h1")
    assert await until(lambda: _all_up(cell, ["h1"]))
    (hv,) = await cell.hypervisors.list()
    n = hv.node
    assert n.uuid == agent.node_uuid == node_uuid_of("h1") and n.hypervisor_hostname == "h1"
    assert (n.vcpus, n.memory_mb, n.local_gb) == (cell.conf.fake_vcpus, cell.conf.fake_memory_mb,
                                                  cell.conf.fake_disk_gb)
    assert n.memory_mb_used == cell.conf.reserved_host_memory_mb and n.running_vms == 0
    assert n.cpu_info["arch"] == "x86_64"
    assert await until(lambda: _provided(cell, agent))


async def _provided(cell, agent) -> bool:
    rp = cell.placement.providers.get(agent.node_uuid)
    return bool(rp and rp["inventories"])


async def _instance(cell, host: str, **values) -> str:
    iid = str(uuid.uuid4())
    async with cell.rt.db.session() as s:
        s.add(Instance(id=iid, project_id="p", user_id="u", display_name="vm", host=host, node=host,
                       flavor={"vcpus": 2, "memory_mb": 1024, "root_gb": 5, "ephemeral_gb": 0, "swap": 0},
                       vm_state=values.pop("vm_state", "active"), power_state=values.pop("power_state", 1),
                       metadata_items=[InstanceMetadata(key="role", value="db")], tags=[], **values))
    return iid


async def test_instances_on_host_and_the_usage_reported(cell):
    agent = await cell.agent("h1")
    here = await _instance(cell, "h1")
    moved = await _instance(cell, "h2")
    await _instance(cell, "h3")
    async with cell.rt.db.session() as s:
        s.add(Migration(uuid=str(uuid.uuid4()), instance_id=moved, source_compute="h1", dest_compute="h2",
                        migration_type="resize", status="finished"))
    reply = await agent.call_conductor("instances_on_host", {"host": "h1"})
    records = {r["id"]: r for r in reply["instances"]}
    assert set(records) == {here, moved}
    assert records[here]["metadata"] == {"role": "db"} and records[here]["flavor"]["vcpus"] == 2
    assert records[moved]["host"] == "h2" and records[moved]["migration"]["source_compute"] == "h1"
    await agent.report_once()
    (hv,) = [v for v in await cell.hypervisors.list() if v.node.host == "h1"]
    assert (hv.node.vcpus_used, hv.node.running_vms) == (2, 1)       # the moved one is h2's now
    assert hv.node.memory_mb_used == 1024 + cell.conf.reserved_host_memory_mb


async def test_reconcile_with_the_real_conductor(cell):
    agent = await cell.agent("h1")
    iid = await _instance(cell, "h1")
    await agent.driver.spawn({"id": iid, "metadata": {}}, {}, [])
    await agent.driver.power_off({"id": iid, "metadata": {}})
    await agent.reconciler.run_once()
    async with cell.rt.db.reader() as s:
        row = await s.get(Instance, iid)
    assert (row.vm_state, row.power_state) == ("stopped", int(PowerState.SHUTDOWN))


async def test_service_delete_rules(cell):
    agent = await cell.agent("h1")
    assert await until(lambda: _all_up(cell, ["h1"]))
    (svc,) = [v.row for v in await cell.hosts.list_services(binary="nova-compute")]
    iid = await _instance(cell, "h1")
    with pytest.raises(exc.Conflict, match="hosting instances"):
        await cell.hosts.delete(svc.uuid, by_uuid=True)
    async with cell.rt.db.session() as s:
        (await s.get(Instance, iid)).deleted = True
        s.add(Aggregate(uuid=str(uuid.uuid4()), name="agg", hosts=[AggregateHost(host="h1")], metadata_items=[]))
    await agent.stop()
    await cell.hosts.delete(svc.uuid, by_uuid=True)
    assert await cell.hosts.list_services(binary="nova-compute") == []
    assert await cell.hypervisors.list() == []
    assert ("DELETE", f"/resource_providers/{agent.node_uuid}") in cell.placement.requests
    async with cell.rt.db.reader() as s:
        agg = await aq.get(s, (await aq.by_name(s, "agg")).id)
    assert agg.hosts == []
    with pytest.raises(exc.NotFound):
        await cell.hosts.delete(svc.uuid, by_uuid=True)
