"""The compute agent's reconcile loop, sample-controller style: set up the conductor's records and
the driver's guests, run one reconcile, assert what it did."""

from __future__ import annotations

import pytest

from nubes.compute.drivers.base import PowerState
from tests.unit.compute.agent_fakes import make_agent

RUNNING, PAUSED, SHUTDOWN, SUSPENDED = (PowerState.RUNNING, PowerState.PAUSED, PowerState.SHUTDOWN,
                                        PowerState.SUSPENDED)


@pytest.fixture
async def setup():
    agent, conductor, placement = await make_agent()
    yield agent, conductor, agent.driver
    await agent.rt.bus.close()


async def spawned(driver, rec):
    await driver.spawn(rec, {"id": "img"}, [])


async def power(driver, rec) -> PowerState:
    return PowerState((await driver.get_info(rec["id"])).power_state)


async def test_in_sync_does_nothing(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a")
    await spawned(driver, rec)
    await agent.reconciler.run_once()
    assert conductor.updates() == []
    assert await power(driver, rec) == RUNNING


async def test_active_guest_that_stopped_by_itself_becomes_stopped(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a")
    await spawned(driver, rec)
    await driver.power_off(rec)
    await agent.reconciler.run_once()
    assert conductor.updates() == [{"instance_id": rec["id"], "expected_task_state": None,
                                    "updates": {"vm_state": "stopped", "power_state": int(SHUTDOWN)}}]
    assert conductor.instances[rec["id"]]["vm_state"] == "stopped"


async def test_stopped_instance_whose_guest_runs_is_powered_off(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", vm_state="stopped", power_state=int(SHUTDOWN))
    await spawned(driver, rec)          # running, but the conductor says stopped
    await agent.reconciler.run_once()
    assert await power(driver, rec) == SHUTDOWN
    assert conductor.updates() == []    # the recorded power state was right all along


async def test_a_changed_power_state_is_reported(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", vm_state="paused", power_state=int(RUNNING))
    await spawned(driver, rec)
    await driver.pause(rec)
    await agent.reconciler.run_once()
    assert conductor.updates()[0]["updates"] == {"power_state": int(PAUSED)}


async def test_suspended_active_guest_is_stopped(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a")
    await spawned(driver, rec)
    await driver.suspend(rec)
    await agent.reconciler.run_once()
    assert await power(driver, rec) == SHUTDOWN
    assert conductor.updates()[0]["updates"] == {"vm_state": "stopped", "power_state": int(SHUTDOWN)}


async def test_missing_guest_is_reported_nostate(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a")
    await agent.reconciler.run_once()
    assert conductor.updates()[0]["updates"] == {"power_state": int(PowerState.NOSTATE)}
    assert conductor.instances[rec["id"]]["vm_state"] == "active"


async def test_a_task_under_way_is_left_alone(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", task_state="powering-off")
    await spawned(driver, rec)
    await driver.power_off(rec)
    building = conductor.add("node-a", vm_state="building", power_state=0)
    await agent.reconciler.run_once()
    assert conductor.updates() == []
    assert building["id"] not in await driver.list_instances()


async def test_an_action_that_starts_meanwhile_wins(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a")
    await spawned(driver, rec)
    await driver.power_off(rec)
    keys = await agent.reconciler.keys()            # the loop read the records...
    conductor.instances[rec["id"]]["task_state"] = "powering-on"   # ...then the API started an action
    for key in keys:
        await agent.reconciler.reconcile(key)
    assert conductor.updates()[0]["expected_task_state"] is None
    assert conductor.instances[rec["id"]]["vm_state"] == "active"   # refused: the action's to decide


async def test_orphans_are_destroyed_after_the_grace_period(setup):
    agent, conductor, driver = setup
    orphan = {"id": "0b1c5a3e-1111-4222-8333-444455556666", "metadata": {}}
    await spawned(driver, orphan)
    agent.reconciler.orphan_grace = 3600
    await agent.reconciler.run_once()
    assert orphan["id"] in await driver.list_instances()        # seen, not yet destroyed
    assert orphan["id"] in agent.reconciler.orphans
    agent.reconciler.orphan_grace = 0
    await agent.reconciler.run_once()
    assert orphan["id"] not in await driver.list_instances()
    assert agent.reconciler.orphans == {}


async def test_an_orphan_that_turns_out_known_is_kept(setup):
    agent, conductor, driver = setup
    rec = {"id": "0b1c5a3e-1111-4222-8333-777788889999", "metadata": {}}
    await spawned(driver, rec)
    agent.reconciler.orphan_grace = 3600
    await agent.reconciler.run_once()
    conductor.add("node-a", id=rec["id"])                       # its build's record arrived
    agent.reconciler.orphan_grace = 0
    await agent.reconciler.run_once()
    assert rec["id"] in await driver.list_instances()
    assert rec["id"] not in agent.reconciler.orphans


async def test_the_other_end_of_a_move_is_left_alone(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-b", migration_source="node-a")    # moved to node-b, source copy here
    await spawned(driver, rec)
    await driver.power_off(rec)
    agent.reconciler.orphan_grace = 0
    await agent.reconciler.run_once()
    assert rec["id"] in await driver.list_instances()
    assert conductor.updates() == []


async def test_a_restarted_agent_reattaches_to_its_guests(tmp_path):
    state = tmp_path / "node-a.json"
    agent, conductor, placement = await make_agent(state_file=state)
    rec = conductor.add("node-a")
    await agent.driver.init_host()
    await agent.driver.spawn(rec, {"id": "img"}, [])
    await agent.rt.bus.close()
    again, _, _ = await make_agent(conductor=conductor, placement=placement, state_file=state)
    try:
        await again.start()
        again.reconciler.orphan_grace = 0
        await again.reconciler.run_once()
        assert await again.driver.list_instances() == [rec["id"]]
        assert await power(again.driver, rec) == RUNNING
        assert conductor.updates() == []
    finally:
        await again.stop()
        await again.rt.bus.close()
