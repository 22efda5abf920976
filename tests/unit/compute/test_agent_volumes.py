"""The compute agent's volume handlers (attach_volume, detach_volume, extend_volume) on the fake driver."""

from __future__ import annotations

import uuid

import pytest

from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.core.exceptions import BadRequest
from tests.unit.compute.agent_fakes import make_agent


@pytest.fixture
async def setup():
    agent, conductor, _ = await make_agent()
    await agent.rt.bus.serve(rpc.agent_topic(agent.host), agent.handlers())
    await agent.driver.init_host()
    yield agent, conductor
    await agent.rt.bus.close()


def conn(vid: str) -> dict:
    return {"driver_volume_type": "file", "data": {"path": f"/pool/{vid}", "format": "qcow2", "read_only": False}}


async def call(agent, method: str, payload: dict):
    return await agent.rt.bus.call(rpc.agent_topic(agent.host), method, payload, timeout=10)


async def test_attach_detach_extend_over_the_bus(setup):
    agent, conductor = setup
    rec = conductor.add(agent.host)
    await agent.driver.spawn(rec, {"id": "img"}, [])
    vid = str(uuid.uuid4())
    msg = {"instance_id": rec["id"], "volume_id": vid, "connection_info": conn(vid), "mountpoint": "/dev/vdb",
           "request_id": "req-1"}
    assert await call(agent, "attach_volume", msg) == {"volume_id": vid, "mountpoint": "/dev/vdb"}
    assert await call(agent, "attach_volume", msg) == {"volume_id": vid, "mountpoint": "/dev/vdb"}   # again
    assert (await agent.driver.get_diagnostics(rec))["num_disks"] == 2
    events = [(u["action_event"]["event"], u["action_event"].get("result")) for u in conductor.updates()]
    assert events[:2] == [("compute_attach_volume", None), ("compute_attach_volume", "Success")]
    assert await call(agent, "extend_volume", {"instance_id": rec["id"], "volume_id": vid, "new_size": 2}) == {
        "volume_id": vid, "size_bytes": 2 * 1024 ** 3}
    assert await call(agent, "detach_volume", {"instance_id": rec["id"], "volume_id": vid}) == {
        "volume_id": vid, "detached": True}
    assert await call(agent, "detach_volume", {"instance_id": rec["id"], "volume_id": vid}) == {
        "volume_id": vid, "detached": True}
    assert (await agent.driver.get_diagnostics(rec))["num_disks"] == 1


async def test_failures_answer_errors_the_caller_can_act_on(setup):
    agent, conductor = setup
    rec = conductor.add(agent.host)
    await agent.driver.spawn(rec, {"id": "img"}, [])
    vid = str(uuid.uuid4())
    with pytest.raises(exc.InstanceNotFound):
        await call(agent, "attach_volume", {"instance_id": str(uuid.uuid4()), "volume_id": vid,
                                            "connection_info": conn(vid)})
    with pytest.raises(exc.VolumeActionFailed) as err:                # not attached: nothing to extend
        await call(agent, "extend_volume", {"instance_id": rec["id"], "volume_id": vid, "new_size_bytes": 4096,
                                            "request_id": "req-2"})
    assert err.value.details == {"retryable": False}
    assert conductor.updates()[-1]["action_event"]["result"] == "Error"
    for bad in ({"instance_id": rec["id"], "volume_id": vid},                       # no connection_info
                {"instance_id": rec["id"], "connection_info": conn(vid)},           # no volume id
                {"volume_id": vid, "connection_info": conn(vid)}):                 # no instance
        with pytest.raises(BadRequest):
            await call(agent, "attach_volume", bad)
    with pytest.raises(BadRequest):
        await call(agent, "extend_volume", {"instance_id": rec["id"], "volume_id": vid, "new_size": -1})
