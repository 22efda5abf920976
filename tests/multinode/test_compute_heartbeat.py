"""A compute node that stops heartbeating while its process lives on (hung, SIGSTOP): its compute
service goes down, the servers on it keep their status but report host_status UNKNOWN (Nova's
word for "no heartbeat within service_down_time"; DOWN is for a host forced down), and it
comes back up on its own when the process runs again; the other host is not touched.
"""

from __future__ import annotations

import os
import signal

import pytest

from tests.multinode.nodes import MultiNode, boot, make_world

pytestmark = [pytest.mark.rabbitmq, pytest.mark.multinode]


def test_agent_that_stops_heartbeating_goes_down_and_its_servers_report_unknown(mn: MultiNode):
    mn.env.update({"NUBES_COMPUTE__REPORT_INTERVAL": "0.5", "NUBES_COMPUTE__SERVICE_DOWN_TIME": "4",
                   "NUBES_COMPUTE__SYNC_POWER_STATE_INTERVAL": "2"})
    mn.start_controller()
    world = make_world(mn)
    hung = mn.add_agent("mn-hung")
    mn.add_agent("mn-ok")
    on_hung = boot(mn, world, "on-hung", availability_zone="nova:mn-hung")
    on_ok = boot(mn, world, "on-ok", availability_zone="nova:mn-ok")
    for sid, host in ((on_hung, "mn-hung"), (on_ok, "mn-ok")):
        body = mn.wait_server(sid, lambda s: s["status"] in ("ACTIVE", "ERROR"), 60, "ACTIVE")
        assert (body["status"], body["OS-EXT-SRV-ATTR:host"], body["host_status"]) == ("ACTIVE", host, "UP")

    assert hung.proc is not None
    os.killpg(hung.proc.pid, signal.SIGSTOP)          # alive, connected, silent
    try:
        svc = mn.wait_host("mn-hung", "down", 60)
        assert svc["status"] == "enabled" and svc["forced_down"] is False
        body = mn.wait_server(on_hung, lambda s: s["host_status"] == "UNKNOWN", 30, "host_status UNKNOWN")
        assert body["status"] == "ACTIVE"             # as in Nova: what the guest does is not known
        listed = {s["id"]: s for s in mn.api("GET", "/servers/detail").json()["servers"]}
        assert listed[on_hung]["host_status"] == "UNKNOWN"
        assert (listed[on_ok]["status"], listed[on_ok]["host_status"]) == ("ACTIVE", "UP")
        assert mn.service_of("mn-ok")["state"] == "up"
        hv = {h["hypervisor_hostname"]: h for h in mn.api("GET", "/os-hypervisors/detail").json()["hypervisors"]}
        assert hv["mn-hung"]["state"] == "down" and hv["mn-ok"]["state"] == "up"
    finally:
        os.killpg(hung.proc.pid, signal.SIGCONT)
    mn.wait_host("mn-hung", "up", 60)
    body = mn.wait_server(on_hung, lambda s: s["host_status"] == "UP", 30, "host_status UP again")
    assert body["status"] == "ACTIVE"
    assert hung.running


def test_a_host_forced_down_reports_down_and_disabled_maintenance(mn: MultiNode):
    mn.env.update({"NUBES_COMPUTE__REPORT_INTERVAL": "0.5", "NUBES_COMPUTE__SERVICE_DOWN_TIME": "30"})
    mn.start_controller()
    world = make_world(mn)
    mn.add_agent("mn-a")
    sid = boot(mn, world, "s")
    assert mn.wait_server(sid, lambda s: s["status"] in ("ACTIVE", "ERROR"), 60)["status"] == "ACTIVE"
    svc = mn.service_of("mn-a")
    r = mn.api("PUT", f"/os-services/{svc['id']}", json={"forced_down": True})
    assert r.status_code == 200, r.text
    assert mn.server(sid)["host_status"] == "DOWN"
    assert mn.service_of("mn-a")["state"] == "down"           # heartbeats go on, but it is down
    r = mn.api("PUT", f"/os-services/{svc['id']}", json={"forced_down": False, "status": "disabled",
                                                         "disabled_reason": "maintenance"})
    assert r.status_code == 200, r.text
    assert mn.server(sid)["host_status"] == "MAINTENANCE"
    r = mn.api("PUT", f"/os-services/{svc['id']}", json={"status": "enabled"})
    assert r.status_code == 200, r.text
    assert mn.server(sid)["host_status"] == "UP"
