"""The compute agent's heartbeat and placement reporting, against a fake conductor and placement."""

from __future__ import annotations

import pytest

from nubes.compute.agent.manager import node_uuid_of
from nubes.compute.agent.reporting import DISABLED_TRAIT
from nubes.compute.exceptions import InstanceNotFound
from tests.unit.compute.agent_fakes import make_agent


@pytest.fixture
async def setup():
    agent, conductor, placement = await make_agent(fake_vcpus=8, fake_memory_mb=8192, fake_disk_gb=100,
                                                   reserved_host_memory_mb=512, reserved_host_disk_mb=2048,
                                                   cpu_allocation_ratio=16.0)
    await agent.driver.init_host()
    yield agent, conductor, placement
    await agent.rt.bus.close()


def test_node_uuid_is_stable_and_per_host():
    assert node_uuid_of("node-a") == node_uuid_of("node-a") != node_uuid_of("node-b")


async def test_heartbeat_reports_the_node_and_its_usage(setup):
    agent, conductor, placement = setup
    conductor.add("node-a")
    conductor.add("node-a", flavor={"vcpus": 1, "memory_mb": 512, "root_gb": 1})
    conductor.add("node-b")
    await agent.report_once()
    (report,) = [p for m, p in conductor.calls if m == "service_report"]
    assert report["host"] == "node-a" and report["binary"] == "nova-compute"
    node = report["node"]
    assert node["uuid"] == agent.node_uuid == node_uuid_of("node-a")
    assert (node["vcpus"], node["memory_mb"], node["local_gb"]) == (8, 8192, 100)
    # 2+1 vcpus; 1024+512 MB plus the 512 reserved; 10+1+ceil(1536/1024)+1 GB plus 2 reserved
    assert (node["vcpus_used"], node["memory_mb_used"], node["local_gb_used"]) == (3, 2048, 16)
    assert node["running_vms"] == 2 and node["hypervisor_type"] == "fake"


async def test_placement_provider_inventories_and_disabled_trait(setup):
    agent, conductor, placement = setup
    await agent.report_once()
    rp = placement.providers[agent.node_uuid]
    assert rp["name"] == "node-a"
    assert rp["inventories"]["VCPU"] == {"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 8,
                                         "step_size": 1, "allocation_ratio": 16.0}
    assert rp["inventories"]["MEMORY_MB"]["reserved"] == 512
    assert rp["inventories"]["DISK_GB"]["reserved"] == 2
    assert rp["traits"] == []
    sent = len(placement.requests)
    await agent.report_once()                           # nothing changed: nothing sent
    assert len(placement.requests) == sent

    conductor.service.update(disabled=True, disabled_reason="maintenance")
    await agent.report_once()
    assert agent.disabled and agent.disabled_reason == "maintenance"
    assert rp["traits"] == [DISABLED_TRAIT]
    conductor.service.update(disabled=False, disabled_reason=None)
    await agent.report_once()
    assert rp["traits"] == []


async def test_generation_conflicts_are_retried(setup):
    agent, conductor, placement = setup
    placement.conflicts = 2
    await agent.report_once()
    assert placement.providers[agent.node_uuid]["inventories"]["VCPU"]["total"] == 8
    assert len([r for r in placement.requests if r[0] == "PUT"]) == 3


async def test_changed_resources_are_sent_again(setup):
    agent, conductor, placement = setup
    await agent.report_once()
    agent.conf.fake_vcpus = 12                          # the host grew
    await agent.report_once()
    assert placement.providers[agent.node_uuid]["inventories"]["VCPU"]["total"] == 12


async def test_placement_down_does_not_stop_heartbeats(setup):
    agent, conductor, placement = setup

    async def broken(*a, **kw):
        raise RuntimeError("placement unreachable")

    placement.request = broken
    await agent.report_once()                            # the heartbeat went through all the same
    assert agent.reports == 1
    assert [m for m, _ in conductor.calls].count("service_report") == 1


async def test_set_host_enabled_follows_at_once(setup):
    agent, conductor, placement = setup
    await agent.report_once()
    handler = agent.handlers()["set_host_enabled"]
    assert await handler({"enabled": False}) == {"enabled": False}
    assert placement.providers[agent.node_uuid]["traits"] == [DISABLED_TRAIT]


async def test_console_and_diagnostics_handlers(setup):
    agent, conductor, placement = setup
    rec = conductor.add("node-a")
    await agent.driver.spawn(rec, {"id": "img"}, [])
    handlers = agent.handlers()
    out = (await handlers["get_console_output"]({"instance_id": rec["id"], "length": 2}))["output"]
    assert len(out.splitlines()) == 2 and out.endswith("login: ")
    diag = await handlers["get_diagnostics"]({"instance_id": rec["id"]})
    assert diag["state"] == "running" and diag["num_cpus"] == 2
    with pytest.raises(InstanceNotFound):
        await handlers["get_console_output"]({"instance_id": "nope"})
