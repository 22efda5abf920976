"""Compute across processes and what happens when one of them dies: the controller (`nubes up`:
APIs, and the conductor unless it runs apart), compute nodes (`nubes agent compute`), on RabbitMQ.

- a compute agent killed mid-build: the build goes to another host, or to ERROR with a fault
  when there is none, well before ``build_timeout``, and its claim and ports are released;
- an agent killed and started again at once: it re-attaches to its guests, hands the build it
  left half done back to the conductor, and its heartbeats resume;
- the conductor killed while builds are requested, or an agent while builds wait for it: no
  request is lost, all become ACTIVE once the process is back (casts wait in their queue).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.dbservers import scratch_database
from tests.multinode.nodes import MultiNode, boot, make_world

pytestmark = [pytest.mark.rabbitmq, pytest.mark.multinode]

BUILD_TIMEOUT = 300          # far longer than any test waits: what ends a build here is the fast path


def timings(down_time: float) -> dict[str, str]:
    return {"NUBES_COMPUTE__REPORT_INTERVAL": "0.5", "NUBES_COMPUTE__SERVICE_DOWN_TIME": str(down_time),
            "NUBES_COMPUTE__BUILD_TIMEOUT": str(BUILD_TIMEOUT),
            "NUBES_COMPUTE__SYNC_POWER_STATE_INTERVAL": "2"}


def done(s: dict) -> bool:
    return s["status"] in ("ACTIVE", "ERROR")


def spawning(s: dict) -> bool:
    return s["OS-EXT-STS:task_state"] == "spawning"


def test_agent_killed_mid_build_goes_to_another_host(mn: MultiNode):
    mn.env.update(timings(down_time=4))
    mn.start_controller()
    world = make_world(mn)
    mn.add_agent("mn-a")
    mn.add_agent("mn-b")
    sid = boot(mn, world, "slow", metadata={"fake_delay": "spawn:5"})
    first = mn.wait_server(sid, spawning, 30, "spawning")["OS-EXT-SRV-ATTR:host"]
    other = ({"mn-a", "mn-b"} - {first}).pop()
    assert set(mn.allocations(sid)) == {mn.provider_of(first)}
    killed = time.monotonic()
    mn.agents[first].kill()
    body = mn.wait_server(sid, done, 60, "ACTIVE or ERROR")
    took = time.monotonic() - killed
    assert body["status"] == "ACTIVE", body.get("fault")
    assert body["OS-EXT-SRV-ATTR:host"] == other
    # down after 4 s, noticed within a second, then a 5 s spawn: far sooner than the build timeout
    assert took < 30, took
    assert set(mn.allocations(sid)) == {mn.provider_of(other)}          # the first claim is gone
    ports = mn.ports(sid)
    assert [p["binding:host_id"] for p in ports] == [other]               # and its port
    assert mn.wait_host(first, "down")["state"] == "down"


def test_agent_killed_mid_build_with_no_other_host_is_error_with_a_fault(mn: MultiNode):
    mn.env.update(timings(down_time=4))
    mn.start_controller()
    world = make_world(mn)
    mn.add_agent("mn-solo")
    sid = boot(mn, world, "slow", metadata={"fake_delay": "spawn:30"})
    mn.wait_server(sid, spawning, 30, "spawning")
    killed = time.monotonic()
    mn.agents["mn-solo"].kill()
    body = mn.wait_server(sid, done, 60, "ERROR")
    assert time.monotonic() - killed < 30
    assert body["status"] == "ERROR"
    fault = body["fault"]
    assert fault["code"] == 500 and "Exhausted all hosts available" in fault["message"]
    assert "mn-solo" in fault["details"] and "has not reported" in fault["details"]
    assert mn.allocations(sid) == {}
    assert mn.ports(sid) == []
    r = mn.api("DELETE", f"/servers/{sid}")                   # and it can be deleted with its host gone
    assert r.status_code == 204, r.text
    deadline = time.monotonic() + 30
    while mn.api("GET", f"/servers/{sid}").status_code != 404:
        assert time.monotonic() < deadline, "the server was not deleted"
        time.sleep(0.3)


def test_agent_killed_and_restarted_reattaches_and_hands_back_its_build(mn: MultiNode):
    # down_time 30: what ends the build is the restarted agent, not the conductor's watch
    mn.env.update(timings(down_time=30))
    mn.start_controller()
    world = make_world(mn)
    agent = mn.add_agent("mn-a")
    running = boot(mn, world, "running")
    assert mn.wait_server(running, done, 30)["status"] == "ACTIVE"
    sid = boot(mn, world, "slow", metadata={"fake_delay": "spawn:60"})
    mn.wait_server(sid, spawning, 30, "spawning")
    before = mn.service_of("mn-a")["updated_at"]
    killed = time.monotonic()
    agent.kill()
    agent.start()
    body = mn.wait_server(sid, done, 30, "ERROR")
    assert time.monotonic() - killed < 30
    assert body["status"] == "ERROR"
    assert "restarted while it was building" in body["fault"]["details"]
    assert mn.allocations(sid) == {} and mn.ports(sid) == []
    # It found its guests again: the running one, not the half-built one it removed ...
    assert "with 1 guests" in agent.log()
    state = json.loads((mn.tmp / "agent-mn-a" / "compute" / "fake-mn-a.json").read_text())
    assert [g["id"] for g in state["guests"]] == [running]
    # ... the server on it stays as it was, and its heartbeats go on
    time.sleep(2.5)                          # a power state sync (every 2 s) found nothing to change
    body = mn.server(running)
    assert (body["status"], body["OS-EXT-STS:power_state"]) == ("ACTIVE", 1)
    svc = mn.wait_host("mn-a", "up")
    assert svc["updated_at"] > before
    assert agent.stop() == 0                 # SIGTERM: a clean exit


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_conductor_restart_loses_no_queued_build(mn: MultiNode, db: str):
    mn.env.update(timings(down_time=30))
    if db == "postgres":
        with scratch_database("postgres") as url:
            _conductor_restart(mn, url)
    else:
        _conductor_restart(mn, None)


def _conductor_restart(mn: MultiNode, compute_db: str | None) -> None:
    mn.start_controller(conductor_apart=True, compute_db=compute_db)
    world = make_world(mn)
    mn.add_agent("mn-a")
    assert mn.conductor is not None
    mn.conductor.kill()
    ids = [boot(mn, world, f"queued-{i}") for i in range(3)]
    r = mn.api("POST", "/servers", json=world.body("queued-multi", min_count=2, max_count=2))
    assert r.status_code == 202, r.text
    ids += [s["id"] for s in mn.api("GET", "/servers?name=queued-multi").json()["servers"]]
    assert len(ids) == 5
    time.sleep(1.5)
    for sid in ids:                                   # nobody schedules them meanwhile
        body = mn.server(sid)
        assert (body["status"], body["OS-EXT-STS:task_state"]) == ("BUILD", "scheduling")
    assert mn.vhost.queue_depth("compute.conductor") >= 4          # 4 build_instances casts wait
    mn.conductor.start()
    for sid in ids:
        body = mn.wait_server(sid, done, 60, "ACTIVE")
        assert body["status"] == "ACTIVE", body.get("fault")
        assert len(mn.ports(sid)) == 1
        assert set(mn.allocations(sid)) == {mn.provider_of("mn-a")}
    assert mn.conductor.stop() == 0


def test_agent_restart_runs_the_builds_that_waited_for_it(mn: MultiNode):
    # down_time 30: the host still counts as up, so builds are sent to it while its agent is away
    mn.env.update(timings(down_time=30))
    mn.start_controller()
    world = make_world(mn)
    agent = mn.add_agent("mn-a")
    agent.kill()
    ids = [boot(mn, world, f"waiting-{i}") for i in range(3)]
    for sid in ids:
        body = mn.wait_server(sid, lambda s: s["OS-EXT-SRV-ATTR:host"] == "mn-a", 30, "a host")
        assert body["status"] == "BUILD" and body["OS-EXT-STS:task_state"] is None
    assert mn.vhost.queue_depth("compute.agent.mn-a") >= 3
    time.sleep(1)
    assert all(mn.server(sid)["status"] == "BUILD" for sid in ids)
    agent.start()
    for sid in ids:
        body = mn.wait_server(sid, done, 60, "ACTIVE")
        assert body["status"] == "ACTIVE", body.get("fault")
        assert [p["binding:host_id"] for p in mn.ports(sid)] == ["mn-a"]
