"""A compute agent resuming the unfinished work of its host (``agent.resume``): set up the
conductor's records and the driver's guests as a crash left them, resume, assert what it did."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from nubes.compute.agent.recovery import resume_unfinished
from nubes.compute.drivers.base import PowerState
from nubes.core.db.base import utcnow
from tests.unit.compute.agent_fakes import FakePlacement, make_agent

RUNNING, SHUTDOWN = PowerState.RUNNING, PowerState.SHUTDOWN


class _Resp:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code, self._body, self.text = status, body, ""

    def json(self) -> Any:
        return self._body


class Clients(FakePlacement):
    """Placement as the agent fakes have it; a network service with no ports, no image service."""

    async def request(self, service: str, method: str, path: str, **kw: Any) -> Any:
        if service == "placement":
            return await super().request(service, method, path, **kw)
        self.requests.append((method, path))
        if service == "network" and method == "GET":
            return _Resp(200, {"ports": []})
        return _Resp(404, {})


@pytest.fixture
async def setup():
    agent, conductor, _ = await make_agent(placement=Clients())
    agent.handlers()
    agent.serving = True
    yield agent, conductor, agent.driver
    await agent.rt.bus.close()


async def power(driver, rec) -> PowerState:
    return PowerState((await driver.get_info(rec["id"])).power_state)


async def test_a_stop_the_crash_cut_off_is_done(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", task_state="powering-off")
    await driver.spawn(rec, {"id": "img"}, [])
    assert await resume_unfinished(agent) == 1
    assert await power(driver, rec) == SHUTDOWN
    assert (rec := conductor.instances[rec["id"]])["vm_state"] == "stopped" and rec["task_state"] is None


async def test_a_delete_the_crash_cut_off_is_finished(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", task_state="deleting")
    await driver.spawn(rec, {"id": "img"}, [])
    await resume_unfinished(agent)
    assert await driver.list_instances() == []
    assert [p["instance_id"] for m, p in conductor.calls if m == "instance_destroyed"] == [rec["id"]]


async def test_a_snapshot_whose_image_was_not_kept_is_rolled_back(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", task_state="image_uploading")
    await driver.spawn(rec, {"id": "img"}, [])
    await resume_unfinished(agent)
    assert conductor.instances[rec["id"]]["task_state"] is None
    (last,) = [p for p in conductor.updates() if p["updates"] == {"task_state": None}]
    assert last["action_event"]["result"] == "Error"
    assert "cannot be resumed" in last["action_event"]["traceback"]
    assert await power(driver, rec) == RUNNING            # the server stays as it was


async def test_work_of_another_host_or_changed_meanwhile_is_left_alone(setup):
    agent, conductor, driver = setup
    other = conductor.add("node-b", task_state="powering-off")
    here = conductor.add("node-a", task_state="powering-off")
    await driver.spawn(here, {"id": "img"}, [])
    stale = {**here}
    conductor.instances[here["id"]]["task_state"] = None             # finished by a late message
    assert await agent.resumer.resume(stale) is False
    assert await agent.resumer.resume(other) is False
    assert await power(driver, here) == RUNNING
    assert not [p for p in conductor.updates() if p["instance_id"] == other["id"]]


async def test_work_a_handler_is_doing_is_not_resumed(setup):
    agent, conductor, driver = setup
    rec = conductor.add("node-a", task_state="powering-off")
    await driver.spawn(rec, {"id": "img"}, [])
    async with agent.acts.locks[rec["id"]]:
        assert agent.busy(rec["id"])
        assert await agent.resumer.resume(dict(rec)) is False
    assert await power(driver, rec) == RUNNING


async def test_the_reconcile_loop_resumes_only_work_left_alone_for_the_lease(setup):
    agent, conductor, driver = setup
    fresh = conductor.add("node-a", task_state="powering-off", updated_at=utcnow().isoformat())
    old = conductor.add("node-a", task_state="powering-off",
                        updated_at=(utcnow() - timedelta(seconds=agent.conf.recovery_lease + 1)).isoformat())
    for rec in (fresh, old):
        await driver.spawn(rec, {"id": "img"}, [])
    await agent.reconciler.run_once()
    assert await power(driver, old) == SHUTDOWN and conductor.instances[old["id"]]["task_state"] is None
    assert await power(driver, fresh) == RUNNING                # its message may still be on its way
    assert conductor.instances[fresh["id"]]["task_state"] == "powering-off"


async def test_a_copy_of_a_move_out_whose_step_went_on_reports_nothing(setup):
    agent, conductor, driver = setup
    m = {"id": "m1", "kind": "resize", "status": "migrating", "source_compute": "node-a", "dest_compute": "node-b"}
    rec = conductor.add("node-a", task_state="resize_migrated", migration=m)
    await driver.spawn(rec, {"id": "img"}, [])
    await agent.move_steps.move_out({"instance_id": rec["id"], "migration": m, "instance": dict(rec),
                                     "action": "resize"})
    await asyncio.sleep(0.05)
    assert [c for c in conductor.calls if c[0] == "move_report"] == []
    # ... where the same message for a server that changed otherwise fails the move, as before
    conductor.instances[rec["id"]]["task_state"] = None
    await agent.move_steps.move_out({"instance_id": rec["id"], "migration": m, "instance": dict(rec),
                                     "action": "resize"})
    await asyncio.sleep(0.05)
    (report,) = [p for c, p in conductor.calls if c == "move_report"]
    assert report["ok"] is False


async def test_a_resized_guest_whose_destination_step_was_cut_off_is_built_there(setup):
    agent, conductor, driver = setup            # node-a is the destination here
    m = {"id": "m1", "kind": "resize", "status": "post-migrating", "source_compute": "node-b",
         "dest_compute": "node-a"}
    big = {"flavorid": "2", "vcpus": 4, "memory_mb": 2048, "root_gb": 20, "ephemeral_gb": 0, "swap": 0}
    rec = conductor.add("node-b", task_state="resize_finish", migration=m, new_flavor=big,
                        request={"pending": {"action": "move_instance", "args": {"kind": "resize"},
                                             "move_data": {"image_id": "img", "live": False}}})
    await resume_unfinished(agent)
    info = await driver.get_info(rec["id"])
    assert (info.num_cpus, info.memory_mb, PowerState(info.power_state)) == (4, 2048, RUNNING)
    (report,) = [p for c, p in conductor.calls if c == "move_report"]
    assert (report["step"], report["ok"], report["host"]) == ("finished", True, "node-a")
