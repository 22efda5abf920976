"""Server actions upstream's clients and tests use beyond the power and lifecycle ones, on a full
cloud with 3 fake hosts: changePassword (through openstacksdk; the fake guest's agent takes it),
injectNetworkInfo (admins), resize keeping or setting OS-DCF:diskConfig."""

from __future__ import annotations

import time

import openstack
import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import action, boot, delete_all, make_world, settled


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("more-actions"))


@pytest.fixture(scope="module")
def member(full_cloud, tmp_path_factory):
    return make_member(full_cloud, tmp_path_factory.mktemp("more-actions-member"))


def console(api, sid) -> str:
    return action(api, sid, {"os-getConsoleOutput": {}}).json()["output"]


def wait_console(api, sid, words, timeout=20) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = console(api, sid)
        if words in text:
            return text
        time.sleep(0.3)
    raise AssertionError(f"{words!r} not in the console of {sid}:\n{text}")


def test_change_password(full_cloud, full_api, world, member):
    sid = boot(member.api, world)
    try:
        conn = openstack.connect(auth_url=full_cloud.url("identity", "/v3"), token=member.api.token,
                                 auth_type="token", project_id=member.project_id)
        conn.compute.change_server_password(sid, "n3w-Passw0rd")
        assert "password of the administrator changed (12 characters)" in console(member.api, sid)
        assert "n3w-Passw0rd" not in console(member.api, sid)
        s = settled(member.api, sid, "ACTIVE")
        assert s["OS-EXT-STS:task_state"] is None
        acts = member.api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        (rec,) = [a for a in acts if a["action"] == "changePassword"]
        ev = full_api("GET", f"/servers/{sid}/os-instance-actions/{rec['request_id']}").json()
        (event,) = ev["instanceAction"]["events"]
        assert event["event"] == "compute_set_admin_password" and event["result"] == "Success"
        # Nova's refusals: a bad body, a stopped server, another project's server
        assert member.api.fault(action(member.api, sid, {"changePassword": {}}), 400)
        assert member.api.fault(action(member.api, sid, {"changePassword": {"adminPass": 1}}), 400)
        assert action(member.api, sid, {"os-stop": None}).status_code == 202
        settled(member.api, sid, "SHUTOFF")
        msg = member.api.fault(action(member.api, sid, {"changePassword": {"adminPass": "x"}}), 409)
        assert "vm_state stopped" in msg
        assert full_api.fault(action(full_api, sid, {"changePassword": {"adminPass": "x"}}), 409)
    finally:
        delete_all(full_api, [sid])


def test_change_password_fake_guest_failure_is_a_409(full_api, world):
    sid = boot(full_api, world, metadata={"fake_fail": "set_admin_password"})
    try:
        msg = full_api.fault(action(full_api, sid, {"changePassword": {"adminPass": "pw"}}), 409)
        assert msg
        s = settled(full_api, sid, "ACTIVE")
        acts = full_api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        (rec,) = [a for a in acts if a["action"] == "changePassword"]
        ev = full_api("GET", f"/servers/{sid}/os-instance-actions/{rec['request_id']}").json()
        assert ev["instanceAction"]["events"][0]["result"] == "Error" and s["status"] == "ACTIVE"
    finally:
        delete_all(full_api, [sid])


def test_inject_network_info(full_api, world, member):
    sid = boot(member.api, world)
    try:
        assert member.api.fault(action(member.api, sid, {"injectNetworkInfo": None}), 403)
        assert action(full_api, sid, {"injectNetworkInfo": None}).status_code == 202
        wait_console(full_api, sid, "network configuration injected (1 interfaces)")
    finally:
        delete_all(full_api, [sid])


def test_resize_keeps_or_sets_disk_config(full_cloud, full_api, world):
    bigger = full_cloud.osc("flavor", "create", "--ram", "1024", "--disk", "2", "--vcpus", "1", unique("big"))
    biggest = full_cloud.osc("flavor", "create", "--ram", "1024", "--disk", "3", "--vcpus", "2", unique("big"))
    sid = boot(full_api, world, **{"OS-DCF:diskConfig": "AUTO"})
    try:
        assert action(full_api, sid, {"resize": {"flavorRef": bigger["id"]}}).status_code == 202
        s = settled(full_api, sid, "VERIFY_RESIZE")
        assert s["OS-DCF:diskConfig"] == "AUTO"
        assert action(full_api, sid, {"confirmResize": None}).status_code == 204
        s = settled(full_api, sid, "ACTIVE")
        assert s["OS-DCF:diskConfig"] == "AUTO" and s["flavor"]["original_name"] == bigger["name"]
        r = action(full_api, sid, {"resize": {"flavorRef": biggest["id"], "OS-DCF:diskConfig": "MANUAL"}})
        assert r.status_code == 202, r.text
        assert settled(full_api, sid, "VERIFY_RESIZE")["OS-DCF:diskConfig"] == "MANUAL"
    finally:
        delete_all(full_api, [sid])


def test_restore_without_soft_delete(full_api, world):
    # this cloud keeps reclaim_instance_interval = 0: a delete is immediate, nothing can be restored
    sid = boot(full_api, world)
    assert "vm_state active" in full_api.fault(action(full_api, sid, {"restore": None}), 409)
    assert full_api("DELETE", f"/servers/{sid}").status_code == 204
    from tests.functional.compute.servers_fixtures import wait_gone

    wait_gone(full_api, sid)


def backups_of(cloud, token, sid) -> list[dict]:
    import httpx

    r = httpx.get(cloud.url("image", f"/v2/images?image_type=backup&instance_uuid={sid}&sort_key=created_at"
                                     "&sort_dir=asc"), headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["images"]


def test_create_backup_with_rotation(full_cloud, full_api, world, member):
    sid = boot(member.api, world)
    try:
        made = []
        for i in range(3):
            r = action(member.api, sid, {"createBackup": {"name": f"bk-{i}", "backup_type": "daily",
                                                          "rotation": 2, "metadata": {"n": str(i)}}})
            assert r.status_code == 202, r.text
            made.append(r.json()["image_id"])
            settled(member.api, sid, "ACTIVE")
        kept = backups_of(full_cloud, member.api.token, sid)
        assert [b["id"] for b in kept] == made[1:]
        assert all(b["status"] == "active" and b["backup_type"] == "daily" for b in kept)
        assert kept[-1]["n"] == "2" and kept[-1]["image_type"] == "backup"
        # another type is rotated apart; before 2.45 the answer is a Location header
        r = action(member.api, sid, {"createBackup": {"name": "wk", "backup_type": "weekly", "rotation": "1"}},
                   version="2.44")
        assert r.status_code == 202 and r.headers["location"].split("/")[-1] and not r.content
        settled(member.api, sid, "ACTIVE")
        assert len(backups_of(full_cloud, member.api.token, sid)) == 3
        # the CLI's backup create, rotation 0: every daily backup goes, the new one too
        member.osc("server", "backup", "create", "--name", "last", "--type", "daily", "--rotate", "0", sid)
        settled(member.api, sid, "ACTIVE")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            left = backups_of(full_cloud, member.api.token, sid)
            if [b["backup_type"] for b in left] == ["weekly"]:
                break
            time.sleep(0.3)
        assert [b["backup_type"] for b in left] == ["weekly"]
        assert member.api.fault(action(member.api, sid, {"createBackup": {"name": "x", "backup_type": "daily"}}),
                                400)
        assert member.api.fault(action(member.api, sid, {"createBackup": {
            "name": "x", "backup_type": "daily", "rotation": -1}}), 400)
        acts = member.api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        assert sum(a["action"] == "createBackup" for a in acts) == 5
    finally:
        for b in backups_of(full_cloud, member.api.token, sid):
            import httpx

            httpx.delete(full_cloud.url("image", f"/v2/images/{b['id']}"), headers={"X-Auth-Token": member.api.token})
        delete_all(full_api, [sid])


def host_of(api, sid) -> str:
    return api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]


def test_evacuate(full_cloud, full_api, world):
    running = boot(full_api, world)
    stopped = boot(full_api, world, name=unique("stopped"))
    old = {sid: host_of(full_api, sid) for sid in (running, stopped)}
    assert action(full_api, stopped, {"os-stop": None}).status_code == 202
    settled(full_api, stopped, "SHUTOFF")
    down: list[str] = []
    try:
        msg = full_api.fault(action(full_api, running, {"evacuate": {}}), 400)
        assert msg == f"Compute service of {old[running]} is still in use."
        for host in sorted(set(old.values())):
            full_cloud.osc("compute", "service", "set", "--down", host, "nova-compute", json_out=False)
            down.append(host)
        # Nova's refusals: the shared-storage flag (2.13), a host that does not exist, a member
        assert full_api.fault(action(full_api, running, {"evacuate": {"onSharedStorage": True}}, "2.13"), 400)
        assert full_api.fault(action(full_api, running, {"evacuate": {"host": "nowhere"}}), 404)
        assert full_api.fault(action(full_api, running, {"evacuate": {"force": True}}, "2.68"), 400)
        r = action(full_api, running, {"evacuate": {"onSharedStorage": False}}, "2.13")
        assert r.status_code == 200 and r.json()["adminPass"], r.text
        s = settled(full_api, running, "ACTIVE")
        assert s["OS-EXT-SRV-ATTR:host"] not in down and s["OS-EXT-STS:power_state"] == 1
        (addr,) = s["addresses"][world.network_name]
        assert addr["addr"]
        migs = full_api("GET", f"/os-migrations?instance_uuid={running}", version="2.59").json()["migrations"]
        assert [(m["migration_type"], m["status"], m["source_compute"]) for m in migs] == [
            ("evacuation", "done", old[running])]
        # 2.14+: no body; a stopped server stays stopped
        r = action(full_api, stopped, {"evacuate": {}}, "2.94")
        assert r.status_code == 200 and not r.content
        s = settled(full_api, stopped, "SHUTOFF")
        assert s["OS-EXT-SRV-ATTR:host"] not in down
        acts = full_api("GET", f"/servers/{stopped}/os-instance-actions").json()["instanceActions"]
        assert acts[0]["action"] == "evacuate"
    finally:
        for host in down:
            full_cloud.osc("compute", "service", "set", "--up", host, "nova-compute", json_out=False)
        delete_all(full_api, [running, stopped])


def test_evacuate_to_stopped_from_2_95(full_cloud, full_api, world):
    sid = boot(full_api, world)
    host = host_of(full_api, sid)
    full_cloud.osc("compute", "service", "set", "--down", host, "nova-compute", json_out=False)
    try:
        others = [h for h in world.hosts if h != host]
        r = action(full_api, sid, {"evacuate": {"host": others[0]}}, "2.95")
        assert r.status_code == 200, r.text
        s = settled(full_api, sid, "SHUTOFF")
        assert s["OS-EXT-SRV-ATTR:host"] == others[0] and s["OS-EXT-STS:power_state"] == 4
    finally:
        full_cloud.osc("compute", "service", "set", "--up", host, "nova-compute", json_out=False)
        delete_all(full_api, [sid])


def live_migration(api, sid, status, timeout=30) -> dict:
    """The server's live migration once it is ``status`` (fake_delay keeps it there a while)."""
    deadline = time.monotonic() + timeout
    rows: list = []
    while time.monotonic() < deadline:
        rows = api("GET", f"/servers/{sid}/migrations").json()["migrations"]
        if rows and rows[0]["status"] == status:
            return rows[0]
        time.sleep(0.1)
    raise AssertionError(f"no live migration of {sid} in {status}: {rows}")


def test_live_migration_force_complete(full_api, world):
    sid = boot(full_api, world, metadata={"fake_delay": "finish_migration:4"})
    source = host_of(full_api, sid)
    try:
        # nothing to force yet: Nova's 409 (no task) and 400 (no such migration)
        assert full_api.fault(full_api("POST", f"/servers/{sid}/migrations/1/action",
                                       json={"force_complete": None}), 409)
        assert full_api("POST", f"/servers/{sid}/migrations/1/action", json={"force_complete": None},
                        version="2.21").status_code == 404
        assert action(full_api, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}}).status_code == 202
        m = live_migration(full_api, sid, "running")
        r = full_api("POST", f"/servers/{sid}/migrations/{m['id']}/action", json={"force_complete": None})
        assert r.status_code == 202, r.text
        assert full_api.fault(full_api("POST", f"/servers/{sid}/migrations/{m['id'] + 10**6}/action",
                                       json={"force_complete": None}), 400)
        assert full_api.fault(full_api("POST", f"/servers/{sid}/migrations/{m['id']}/action",
                                       json={"force_complete": {}}), 400)
        s = settled(full_api, sid, "ACTIVE")
        assert s["OS-EXT-SRV-ATTR:host"] != source
        acts = full_api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        (fc,) = [a for a in acts if a["action"] == "live_migration_force_complete"]
        ev = full_api("GET", f"/servers/{sid}/os-instance-actions/{fc['request_id']}").json()["instanceAction"]
        assert [(e["event"], e["result"]) for e in ev["events"]] == [("compute_live_migration_force_complete",
                                                                       "Success")]
    finally:
        delete_all(full_api, [sid])


def test_live_migration_abort(full_cloud, full_api, world):
    sid = boot(full_api, world, metadata={"fake_delay": "finish_migration:4"})
    source = host_of(full_api, sid)
    before = ports_of_server(full_cloud, full_api, sid)
    try:
        assert action(full_api, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}}).status_code == 202
        m = live_migration(full_api, sid, "running")
        assert full_api("DELETE", f"/servers/{sid}/migrations/{m['id']}", version="2.23").status_code == 404
        r = full_api("DELETE", f"/servers/{sid}/migrations/{m['id']}", version="2.24")
        assert r.status_code == 202, r.text
        s = settled(full_api, sid, "ACTIVE")
        assert s["OS-EXT-SRV-ATTR:host"] == source and s["OS-EXT-STS:power_state"] == 1
        rows = full_api("GET", f"/os-migrations?instance_uuid={sid}").json()["migrations"]
        assert [x["status"] for x in rows] == ["cancelled"]
        assert [p["binding:host_id"] for p in ports_of_server(full_cloud, full_api, sid)] == \
            [p["binding:host_id"] for p in before] == [source]
        acts = full_api("GET", f"/servers/{sid}/os-instance-actions").json()["instanceActions"]
        (ab,) = [a for a in acts if a["action"] == "live_migration_cancel"]
        ev = full_api("GET", f"/servers/{sid}/os-instance-actions/{ab['request_id']}").json()["instanceAction"]
        assert [(e["event"], e["result"]) for e in ev["events"]] == [("compute_live_migration_abort", "Success")]
        # the server can move again afterwards; an abort of a finished migration is a 400
        assert action(full_api, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}}).status_code == 202
        settled(full_api, sid, "ACTIVE")
        assert full_api.fault(full_api("DELETE", f"/servers/{sid}/migrations/{m['id']}"), 409)
    finally:
        delete_all(full_api, [sid])


def test_live_migration_abort_while_preparing_from_2_65(full_api, world):
    sid = boot(full_api, world, metadata={"fake_delay": "migrate_to:4"})
    source = host_of(full_api, sid)
    try:
        assert action(full_api, sid, {"os-migrateLive": {"host": None, "block_migration": "auto"}}).status_code == 202
        m = live_migration(full_api, sid, "preparing")
        msg = full_api.fault(full_api("DELETE", f"/servers/{sid}/migrations/{m['id']}", version="2.64"), 400)
        assert msg == (f"Migration {m['id']} state of instance {sid} is preparing. Cannot abort live migration "
                       "while the migration is in this state.")
        assert full_api("DELETE", f"/servers/{sid}/migrations/{m['id']}", version="2.65").status_code == 202
        s = settled(full_api, sid, "ACTIVE")
        assert s["OS-EXT-SRV-ATTR:host"] == source
        rows = full_api("GET", f"/os-migrations?instance_uuid={sid}").json()["migrations"]
        assert [x["status"] for x in rows] == ["cancelled"]
    finally:
        delete_all(full_api, [sid])


def ports_of_server(cloud, api, sid):
    from tests.functional.compute.servers_fixtures import ports_of

    return ports_of(cloud, api.token, sid)
