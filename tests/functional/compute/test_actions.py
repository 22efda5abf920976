"""Server power and lifecycle actions on a full cloud with 3 fake hosts, through the openstack CLI
(stop/start/reboot/pause/suspend/lock/rebuild/rescue/shelve) and raw HTTP for the refusals:
Nova's 409s for a wrong state and a locked server, 403s for admin-only actions, the task and
vm states, the instance actions with their events, and what a deleted server leaves (nothing)."""

from __future__ import annotations

import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import (
    action,
    allocations_of,
    boot,
    delete_all,
    make_world,
    ports_of,
    settled,
    wait_gone,
)


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("actions"))


@pytest.fixture(scope="module")
def member(full_cloud, tmp_path_factory):
    return make_member(full_cloud, tmp_path_factory.mktemp("actions-member"))


def events_of(api, sid, request_id):
    return api("GET", f"/servers/{sid}/os-instance-actions/{request_id}").json()["instanceAction"]["events"]


def test_power_cycle_through_the_cli(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    name = unique("power")
    sid = boot(api, world, name)
    cloud.osc("server", "stop", name, json_out=False)
    s = settled(api, sid, "SHUTOFF")
    assert s["OS-EXT-STS:vm_state"] == "stopped" and s["OS-EXT-STS:power_state"] == 4
    cloud.osc("server", "start", name, json_out=False)
    assert settled(api, sid, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    cloud.osc("server", "reboot", "--wait", name, json_out=False)
    cloud.osc("server", "reboot", "--hard", "--wait", name, json_out=False)
    assert settled(api, sid, "ACTIVE")["OS-EXT-STS:power_state"] == 1
    cloud.osc("server", "pause", name, json_out=False)
    s = settled(api, sid, "PAUSED")
    assert s["OS-EXT-STS:vm_state"] == "paused" and s["OS-EXT-STS:power_state"] == 3
    cloud.osc("server", "unpause", name, json_out=False)
    settled(api, sid, "ACTIVE")
    cloud.osc("server", "suspend", name, json_out=False)
    assert settled(api, sid, "SUSPENDED")["OS-EXT-STS:power_state"] == 7
    cloud.osc("server", "resume", name, json_out=False)
    settled(api, sid, "ACTIVE")
    events = cloud.osc("server", "event", "list", name)
    assert [e["Action"] for e in events] == ["resume", "suspend", "unpause", "pause", "reboot", "reboot", "start",
                                             "stop", "create"]
    stop = next(e for e in events if e["Action"] == "stop")
    (ev,) = events_of(api, sid, stop["Request ID"])
    assert ev["event"] == "compute_stop_instance" and ev["result"] == "Success" and ev["host"] in world.hosts
    shown = cloud.osc("server", "event", "show", name, stop["Request ID"])
    assert shown["action"] == "stop" and shown["events"][0]["event"] == "compute_stop_instance"
    delete_all(api, [sid])


def test_wrong_states_get_novas_409(full_api, world):
    api = full_api
    sid = boot(api, world)
    refusals = [({"os-start": None}, "start", "active"), ({"unpause": None}, "unpause", "active"),
                ({"resume": None}, "resume", "active"), ({"unrescue": None}, "unrescue", "active"),
                ({"confirmResize": None}, "confirmResize", "active"), ({"revertResize": None}, "revertResize", "active"),
                ({"shelveOffload": None}, "shelveOffload", "active"), ({"unshelve": None}, "unshelve", "active")]
    for body, name, state in refusals:
        msg = api.fault(action(api, sid, body), 409)
        assert msg == f"Cannot '{name}' instance {sid} while it is in vm_state {state}", msg
    assert action(api, sid, {"os-stop": None}).status_code == 202
    settled(api, sid, "SHUTOFF")
    for body, name in (({"os-stop": None}, "stop"), ({"pause": None}, "pause"), ({"suspend": None}, "suspend"),
                       ({"reboot": {"type": "SOFT"}}, "reboot"), ({"os-migrateLive": {"host": None,
                                                                                     "block_migration": "auto"}},
                                                                  "os-migrateLive")):
        msg = api.fault(action(api, sid, body), 409)
        assert msg == f"Cannot '{name}' instance {sid} while it is in vm_state stopped", msg
    # A hard reboot starts a stopped server; a second action meanwhile meets the task state.
    assert action(api, sid, {"reboot": {"type": "HARD"}}).status_code == 202
    r = action(api, sid, {"os-start": None})
    if r.status_code == 409:
        assert "while it is in" in api.fault(r, 409)
    settled(api, sid, "ACTIVE")
    assert "Invalid input for field/attribute type" in api.fault(action(api, sid, {"reboot": {"type": "WARM"}}), 400)
    assert api.fault(action(api, sid, {"bogus": None}), 400) == "There is no such action: bogus"
    assert "one action is expected" in api.fault(action(api, sid, {"pause": None, "unpause": None}), 400)
    assert "not implemented" in api.fault(action(api, sid, {"trigger_crash_dump": None}), 501)
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.fault(action(api, missing, {"os-stop": None}), 404) == f"Instance {missing} could not be found."
    delete_all(api, [sid])


def test_lock_refuses_members_and_admin_only_actions(full_cloud, full_api, member, world):
    api, mapi = full_api, member.api
    sid = boot(mapi, world)
    member.osc("server", "lock", "--reason", "maintenance window", sid, json_out=False)
    s = mapi("GET", f"/servers/{sid}").json()["server"]
    assert s["locked"] is True and s["locked_reason"] == "maintenance window"
    assert "locked_reason" not in mapi("GET", f"/servers/{sid}", version="2.72").json()["server"]
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"pause": None}, {"rebuild": {"imageRef": world.image_id}}):
        assert mapi.fault(action(mapi, sid, body), 409) == f"Instance {sid} is locked"
    assert mapi.fault(mapi("DELETE", f"/servers/{sid}"), 409) == f"Instance {sid} is locked"
    # A snapshot is allowed on a locked server (Nova: the lock guards against changes, not copies).
    r = action(mapi, sid, {"createImage": {"name": unique("locked-snap")}})
    assert r.status_code == 202, r.text
    settled(mapi, sid, "ACTIVE")
    member.osc("image", "delete", r.json()["image_id"], json_out=False)
    member.osc("server", "unlock", sid, json_out=False)
    assert mapi("GET", f"/servers/{sid}").json()["server"]["locked"] is False
    # Locked by an admin: the member may not unlock it; the admin may still act on it.
    full_cloud.osc("server", "lock", sid, json_out=False)
    assert "os_compute_api:os-lock-server:unlock:unlock_override" in mapi.fault(action(mapi, sid, {"unlock": None}),
                                                                                403)
    assert action(api, sid, {"os-stop": None}).status_code == 202
    settled(api, sid, "SHUTOFF")
    assert action(api, sid, {"unlock": None}).status_code == 202
    # Admin-only actions: 403 for a member, whatever the state.
    for body, rule in (({"migrate": None}, "os-migrate-server:migrate"),
                       ({"os-migrateLive": {"host": None, "block_migration": "auto"}}, "os-migrate-server:migrate_live"),
                       ({"shelveOffload": None}, "os-shelve:shelve_offload")):
        assert f"os_compute_api:{rule}" in mapi.fault(action(mapi, sid, body), 403)
    assert mapi.fault(mapi("GET", f"/servers/{sid}/diagnostics"), 403)
    # Another project's member does not see the server at all.
    other = make_member(full_cloud, member.clouds_file.parent)
    assert other.api.fault(action(other.api, sid, {"os-start": None}), 404) == f"Instance {sid} could not be found."
    assert mapi("DELETE", f"/servers/{sid}").status_code == 204
    wait_gone(mapi, sid)


def test_rebuild_and_rescue(full_cloud, full_api, world, tmp_path):
    cloud, api = full_cloud, full_api
    name = unique("rb")
    sid = boot(api, world, name, metadata={"old": "1"})
    img = tmp_path / "other.raw"
    img.write_bytes(b"\1" * 2048)
    other = cloud.osc("image", "create", "--file", str(img), "--disk-format", "raw", "--container-format", "bare",
                      unique("img2"))
    cloud.osc("server", "rebuild", "--image", other["id"], "--wait", "--property", "new=2", "--description",
              "rebuilt", name, json_out=False)
    s = settled(api, sid, "ACTIVE")
    assert s["image"]["id"] == other["id"] and s["metadata"] == {"new": "2"} and s["description"] == "rebuilt"
    events = cloud.osc("server", "event", "list", name)
    rid = next(e["Request ID"] for e in events if e["Action"] == "rebuild")
    assert [e["event"] for e in events_of(api, sid, rid)] == ["compute_rebuild_instance"]
    # The reply is Nova's: the server in REBUILD with its new admin password.
    r = action(api, sid, {"rebuild": {"imageRef": world.image_id, "adminPass": "n3w-pass", "name": "renamed",
                                      "key_name": world.key_name, "user_data": "IyEvYmluL3NoCg=="}})
    assert r.status_code == 202, r.text
    body = r.json()["server"]
    assert body["status"] == "REBUILD" and body["adminPass"] == "n3w-pass" and body["name"] == "renamed"
    assert body["key_name"] == world.key_name and body["OS-EXT-STS:task_state"] == "rebuilding"
    s = settled(api, sid, "ACTIVE")
    assert s["image"]["id"] == world.image_id and s["OS-EXT-SRV-ATTR:user_data"] == "IyEvYmluL3NoCg=="
    missing = "00000000-0000-0000-0000-000000000001"
    assert api.fault(action(api, sid, {"rebuild": {"imageRef": missing}}), 400) == "Cannot find image for rebuild"
    assert "Invalid key_name" in api.fault(action(api, sid, {"rebuild": {"imageRef": world.image_id,
                                                                         "key_name": "nope"}}), 400)
    assert api.fault(action(api, sid, {"rebuild": {}}), 400) == \
        "Invalid input for field/attribute rebuild. Value: {}. 'imageRef' is a required property"
    # rescue / unrescue
    cloud.osc("server", "rescue", "--password", "resc-ue", sid, json_out=False)
    s = settled(api, sid, "RESCUE")
    assert s["OS-EXT-STS:vm_state"] == "rescued"
    console = api("POST", f"/servers/{sid}/action", json={"os-getConsoleOutput": {"length": 50}}).json()["output"]
    assert "rescue" in console
    assert api.fault(action(api, sid, {"os-stop": None}), 409) == \
        f"Cannot 'stop' instance {sid} while it is in vm_state rescued"
    cloud.osc("server", "unrescue", sid, json_out=False)
    settled(api, sid, "ACTIVE")
    r = action(api, sid, {"rescue": None})
    assert r.status_code == 200 and len(r.json()["adminPass"]) >= 8
    settled(api, sid, "RESCUE")
    assert action(api, sid, {"unrescue": None}).status_code == 202
    settled(api, sid, "ACTIVE")
    delete_all(api, [sid])
    assert ports_of(cloud, api.token, sid) == [] and allocations_of(cloud, api.token, sid) == {}


def test_shelve_offload_and_unshelve(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    name = unique("shelf")
    sid = boot(api, world, name)
    port_ids = {p["id"] for p in ports_of(cloud, api.token, sid)}
    assert allocations_of(cloud, api.token, sid)
    cloud.osc("server", "shelve", "--wait", name, json_out=False)
    s = settled(api, sid, "SHELVED_OFFLOADED")
    assert s["OS-EXT-SRV-ATTR:host"] is None and s["OS-EXT-STS:vm_state"] == "shelved_offloaded"
    # Offloaded (shelved_offload_time 0, Nova's default): no allocation, the ports kept but unbound.
    assert allocations_of(cloud, api.token, sid) == {}
    ports = ports_of(cloud, api.token, sid)
    assert {p["id"] for p in ports} == port_ids and all(not p["binding:host_id"] for p in ports)
    images = [i for i in cloud.osc("image", "list", "--private") if i["Name"] == f"{name}-shelved"]
    assert len(images) == 1
    events = cloud.osc("server", "event", "list", name)
    rid = next(e["Request ID"] for e in events if e["Action"] == "shelve")
    assert [e["event"] for e in events_of(api, sid, rid)] == ["compute_shelve_instance",
                                                              "compute_shelve_offload_instance"]
    # No host: Nova's host check comes before its state check.
    assert api.fault(action(api, sid, {"os-start": None}), 409) == f"Instance {sid} is not ready"
    for body, what in (({"shelve": None}, "shelve"), ({"shelveOffload": None}, "shelveOffload")):
        assert api.fault(action(api, sid, body), 409) == \
            f"Cannot '{what}' instance {sid} while it is in vm_state shelved_offloaded"
    r = action(api, sid, {"unshelve": {"availability_zone": "no-such-zone"}})
    assert api.fault(r, 400) == "The requested availability zone is not available"
    cloud.osc("server", "unshelve", "--wait", name, json_out=False)
    s = settled(api, sid, "ACTIVE")
    host = s["OS-EXT-SRV-ATTR:host"]
    assert host in world.hosts
    (rp,) = allocations_of(cloud, api.token, sid).values()
    assert rp["resources"] == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert {p["binding:host_id"] for p in ports_of(cloud, api.token, sid)} == {host}
    assert not [i for i in cloud.osc("image", "list", "--private") if i["Name"] == f"{name}-shelved"]
    # 2.91: to a chosen host (admins), only from SHELVED_OFFLOADED.
    r = action(api, sid, {"unshelve": {"host": host}}, version="2.91")
    assert f"Cannot 'unshelve' instance {sid} while it is in vm_state active" == api.fault(r, 409)
    assert action(api, sid, {"shelve": None}).status_code == 202
    settled(api, sid, "SHELVED_OFFLOADED")
    target = next(h for h in world.hosts if h != host)
    assert action(api, sid, {"unshelve": {"host": target}}, version="2.91").status_code == 202
    assert settled(api, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == target
    delete_all(api, [sid])
    assert ports_of(cloud, api.token, sid) == [] and allocations_of(cloud, api.token, sid) == {}


def test_deleting_a_shelved_server_removes_its_image(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    name = unique("shdel")
    sid = boot(api, world, name)
    assert action(api, sid, {"shelve": None}).status_code == 202
    settled(api, sid, "SHELVED_OFFLOADED")
    assert [i for i in cloud.osc("image", "list", "--private") if i["Name"] == f"{name}-shelved"]
    delete_all(api, [sid])
    assert ports_of(cloud, api.token, sid) == []
    assert not [i for i in cloud.osc("image", "list", "--private") if i["Name"] == f"{name}-shelved"]


def test_reset_state_is_an_admins_repair(full_cloud, full_api, world, member):
    sid = boot(member.api, world)
    full_cloud.osc("server", "set", "--auto-approve", "--state", "error", sid, json_out=False)
    s = full_api("GET", f"/servers/{sid}").json()["server"]
    assert (s["status"], s["OS-EXT-STS:vm_state"], s["OS-EXT-STS:task_state"]) == ("ERROR", "error", None)
    full_cloud.osc("server", "set", "--auto-approve", "--state", "active", sid, json_out=False)
    assert full_api("GET", f"/servers/{sid}").json()["server"]["status"] == "ACTIVE"
    # not the owner's to do; a state Nova does not take; no instance action recorded
    assert "os-admin-actions:reset_state" in full_api.fault(action(member.api, sid, {"os-resetState": {
        "state": "error"}}), 403)
    assert "is not one of" in full_api.fault(action(full_api, sid, {"os-resetState": {"state": "stopped"}}), 400)
    actions = full_api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in actions] == ["create"]
    delete_all(full_api, [sid])
