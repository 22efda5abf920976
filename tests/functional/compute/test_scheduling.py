"""Scheduling on 3 fake hosts through the CLI: anti-affinity groups, faults that say why no host
fits (per reason, with what placement says the hosts have), disabled hosts, and a failed
spawn rescheduled to another host with the attempts recorded as instance action events."""

from __future__ import annotations

import re

import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("sched"))


def _boot(cloud, world, name, *args, check=True):
    return cloud.osc("server", "create", "--wait", "--image", world.image_id, "--flavor", world.flavor_id,
                     "--network", world.network_id, *args, name, check=check)


def test_anti_affinity_spreads_then_refuses(full_cloud, full_api, world):
    group = full_cloud.osc("server", "group", "create", "--policy", "anti-affinity", unique("spread"))
    made = [_boot(full_cloud, world, unique("aa"), "--hint", f"group={group['id']}") for _ in range(3)]
    assert sorted(s["OS-EXT-SRV-ATTR:host"] for s in made) == world.hosts
    fourth = unique("aa")
    res = _boot(full_cloud, world, fourth, "--hint", f"group={group['id']}", check=False)
    assert res.returncode != 0 and "Error creating server" in res.stderr
    fault = full_cloud.osc("server", "show", fourth)["fault"]
    assert fault["code"] == 500
    assert fault["message"] == (f"No valid host was found. 3 hosts each already host a member of server group "
                                f"{group['name']} (anti-affinity).")
    ids = [s["id"] for s in made] + [full_cloud.osc("server", "show", fourth)["id"]]
    # As in Nova, the server that found no host stays a member (in ERROR) until it is deleted.
    assert sorted(full_cloud.osc("server", "group", "show", group["id"])["members"]) == sorted(ids)
    delete_all(full_api, ids)
    assert full_cloud.osc("server", "group", "show", group["id"])["members"] == []
    full_cloud.osc("server", "group", "delete", group["id"], json_out=False)


def test_flavor_bigger_than_any_host(full_cloud, full_api, world):
    huge = full_cloud.osc("flavor", "create", "--ram", "40000", "--disk", "1", "--vcpus", "1", unique("huge"))
    name = unique("big")
    res = full_cloud.osc("server", "create", "--wait", "--image", world.image_id, "--flavor", huge["id"],
                         "--network", world.network_id, name, check=False)
    assert res.returncode != 0
    s = full_cloud.osc("server", "show", name)
    assert s["status"] == "ERROR" and s["OS-EXT-SRV-ATTR:host"] is None
    assert re.fullmatch(r"No valid host was found\. 3 hosts lacked 40000 MB RAM \(have at most \d+ MB free\)\.",
                        s["fault"]["message"]), s["fault"]
    disky = full_cloud.osc("flavor", "create", "--ram", "256", "--disk", "2000", "--vcpus", "1", unique("disk"))
    r = full_api("POST", "/servers", json=boot_body(world, unique("disk"), flavorRef=disky["id"]))
    assert r.status_code == 202, r.text
    cpu = wait_status(full_api, r.json()["server"]["id"])
    assert re.fullmatch(r"No valid host was found\. 3 hosts lacked 2000 GB disk \(have at most \d+ GB free\)\.",
                        cpu["fault"]["message"]), cpu["fault"]
    # The failure is recorded on the create action; the admin sees the details.
    (action,) = full_api("GET", f"/servers/{cpu['id']}/os-instance-actions").json()["instanceActions"]
    detail = full_api("GET", f"/servers/{cpu['id']}/os-instance-actions/{action['request_id']}").json()
    (event,) = detail["instanceAction"]["events"]
    assert event["event"] == "conductor_schedule_and_build_instances" and event["result"] == "Error"
    delete_all(full_api, [s["id"], cpu["id"]])


def test_disabled_host_is_named_in_the_fault(full_cloud, full_api, world):
    host = world.hosts[0]
    full_cloud.osc("compute", "service", "set", "--disable", "--disable-reason", "maintenance", host,
                   "nova-compute", json_out=False)
    try:
        group = full_cloud.osc("server", "group", "create", "--policy", "anti-affinity", unique("g"))
        hint = {"group": group["id"]}
        ids = []
        for _ in range(3):
            r = full_api("POST", "/servers", json={**boot_body(world, unique("d")),
                                                   "os:scheduler_hints": hint})
            assert r.status_code == 202, r.text
            ids.append(r.json()["server"]["id"])
            last = wait_status(full_api, ids[-1])
        placed = [full_api("GET", f"/servers/{i}").json()["server"] for i in ids[:2]]
        assert {s["OS-EXT-SRV-ATTR:host"] for s in placed} == set(world.hosts[1:])
        assert last["fault"]["message"] == (
            f"No valid host was found. 2 hosts each already host a member of server group {group['name']} "
            "(anti-affinity), 1 was disabled (maintenance).")
        delete_all(full_api, ids)
    finally:
        full_cloud.osc("compute", "service", "set", "--enable", host, "nova-compute", json_out=False)


def test_failed_spawn_is_rescheduled(full_cloud, full_api, world):
    good = world.hosts[-1]
    # Make the good host the fullest, so the scheduler tries the failing ones first.
    ballast = full_api("POST", "/servers", json=boot_body(world, unique("ballast"),
                                                          availability_zone=f"nova:{good}"))
    ballast_id = ballast.json()["server"]["id"]
    assert wait_status(full_api, ballast_id)["OS-EXT-SRV-ATTR:host"] == good
    failing = ",".join(world.hosts[:-1])
    name = unique("resched")
    s = _boot(full_cloud, world, name, "--property", "fake_fail=spawn", "--property", f"fake_fail_hosts={failing}")
    assert s["status"] == "ACTIVE" and s["OS-EXT-SRV-ATTR:host"] == good
    (action,) = full_cloud.osc("server", "event", "list", name)
    events = full_cloud.osc("server", "event", "show", name, action["Request ID"])["events"]
    builds = [e for e in events if e["event"] == "compute_build_and_run_instance"]
    assert builds[-1]["result"] == "Success" and builds[-1]["host"] == good
    errors = [e for e in builds if e["result"] == "Error"]
    assert errors and {e["host"] for e in errors} <= set(world.hosts[:-1])
    assert all("Injected failure: spawn" in e["traceback"] for e in errors)
    # Failing everywhere: the attempts run out and the server says so.
    r = full_api("POST", "/servers", json=boot_body(world, unique("doomed"), metadata={"fake_fail": "spawn"}))
    doomed = wait_status(full_api, r.json()["server"]["id"])
    assert doomed["status"] == "ERROR" and doomed["fault"]["message"].startswith(
        "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures")
    assert "Injected failure: spawn" in doomed["fault"]["details"]
    delete_all(full_api, [ballast_id, s["id"], doomed["id"]])
