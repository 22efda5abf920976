"""Moves between the 3 fake hosts through the openstack CLI: resize then confirm or revert, cold
migration (to any host, or a chosen one), live migration; placement after each (the instance holds
its flavor on its current host, the migration the old allocation until the resize is confirmed,
nothing leaks), os-migrations and /servers/{id}/migrations, and the failures a move survives:
no host fits, a host's driver fails, the server is deleted in VERIFY_RESIZE."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import (
    allocations_of,
    boot_body,
    delete_all,
    make_world,
    ports_of,
    wait_status,
)


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("moves"))


@pytest.fixture(scope="module")
def big(full_cloud):
    return full_cloud.osc("flavor", "create", "--ram", "1024", "--disk", "2", "--vcpus", "2", unique("big"))


def boot(api, world, **extra) -> str:
    r = api("POST", "/servers", json=boot_body(world, unique("mv"), **extra))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    assert wait_status(api, sid)["status"] == "ACTIVE"
    return sid


def settled(api, sid, wanted, timeout=30):
    deadline = time.monotonic() + timeout
    s = {}
    while time.monotonic() < deadline:
        s = api("GET", f"/servers/{sid}").json()["server"]
        if s["status"] == wanted and s["OS-EXT-STS:task_state"] is None:
            return s
        time.sleep(0.2)
    raise AssertionError(f"server {sid} is {s.get('status')}/{s.get('OS-EXT-STS:task_state')}, not {wanted}")


def settled_on(api, sid, wanted, host, timeout=60):
    """The server once it shows ``wanted`` on ``host`` with no task under way."""
    deadline = time.monotonic() + timeout
    s = {}
    while time.monotonic() < deadline:
        s = api("GET", f"/servers/{sid}").json()["server"]
        if (s["status"], s["OS-EXT-SRV-ATTR:host"], s["OS-EXT-STS:task_state"]) == (wanted, host, None):
            return s
        time.sleep(0.2)
    raise AssertionError(f"server {sid} is {s.get('status')}/{s.get('OS-EXT-STS:task_state')} on "
                         f"{s.get('OS-EXT-SRV-ATTR:host')}, not {wanted} on {host}")


def provider_of(cloud, token, host):
    r = httpx.get(cloud.url("placement", f"/resource_providers?name={host}"),
                  headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.20"}, timeout=30)
    (rp,) = r.json()["resource_providers"]
    return rp["uuid"]


def held(cloud, token, consumer):
    """{provider uuid: resources} of a consumer."""
    return {rp: a["resources"] for rp, a in allocations_of(cloud, token, consumer).items()}


def migration_of(api, sid):
    (m, *_) = api("GET", f"/os-migrations?instance_uuid={sid}").json()["migrations"]
    return m


TINY = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
BIG = {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}


def test_resize_then_confirm(full_cloud, full_api, world, big):
    cloud, api, token = full_cloud, full_api, full_api.token
    sid = boot(api, world)
    source = api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    cloud.osc("server", "resize", "--flavor", big["name"], "--wait", sid, json_out=False)
    s = settled(api, sid, "VERIFY_RESIZE")
    dest = s["OS-EXT-SRV-ATTR:host"]
    assert dest != source and dest in world.hosts and s["flavor"]["original_name"] == big["name"]
    m = migration_of(api, sid)
    assert (m["status"], m["migration_type"], m["source_compute"], m["dest_compute"]) == (
        "finished", "resize", source, dest)
    assert m["dest_host"] and m["old_instance_type_id"] != m["new_instance_type_id"]
    # The new flavor on the destination for the instance, the old one on the source for the migration.
    assert held(cloud, token, sid) == {provider_of(cloud, token, dest): BIG}
    assert held(cloud, token, m["uuid"]) == {provider_of(cloud, token, source): TINY}
    assert {p["binding:host_id"] for p in ports_of(cloud, token, sid)} == {dest}
    cloud.osc("server", "resize", "confirm", sid, json_out=False)
    s = settled(api, sid, "ACTIVE")
    assert s["OS-EXT-SRV-ATTR:host"] == dest and s["flavor"]["ram"] == 1024
    assert held(cloud, token, sid) == {provider_of(cloud, token, dest): BIG}
    assert held(cloud, token, m["uuid"]) == {}
    assert migration_of(api, sid)["status"] == "confirmed"
    actions = [e["Action"] for e in cloud.osc("server", "event", "list", sid)]
    assert actions[:2] == ["confirmResize", "resize"]
    rid = next(e["Request ID"] for e in cloud.osc("server", "event", "list", sid) if e["Action"] == "resize")
    events = [e["event"] for e in api("GET", f"/servers/{sid}/os-instance-actions/{rid}").json()
              ["instanceAction"]["events"]]
    assert events == ["conductor_migrate_server", "compute_resize_instance", "compute_finish_resize"]
    # Resizing to the flavor it has, or a disk smaller than its own: Nova's 400s.
    r = api("POST", f"/servers/{sid}/action", json={"resize": {"flavorRef": big["id"]}})
    assert api.fault(r, 400) == "When resizing, instances must change flavor!"
    r = api("POST", f"/servers/{sid}/action", json={"resize": {"flavorRef": world.flavor_id}})
    assert api.fault(r, 400) == "Resize error: Unable to resize disk down."
    r = api("POST", f"/servers/{sid}/action", json={"resize": {"flavorRef": "no-such-flavor"}})
    assert api.fault(r, 400) == "Unable to locate requested flavor."
    delete_all(api, [sid])
    assert held(cloud, token, sid) == {} and ports_of(cloud, token, sid) == []


def test_resize_then_revert_of_a_stopped_server(full_cloud, full_api, world, big):
    cloud, api, token = full_cloud, full_api, full_api.token
    sid = boot(api, world)
    assert api("POST", f"/servers/{sid}/action", json={"os-stop": None}).status_code == 202
    source = settled(api, sid, "SHUTOFF")["OS-EXT-SRV-ATTR:host"]
    cloud.osc("server", "resize", "--flavor", big["id"], "--wait", sid, json_out=False)
    s = settled(api, sid, "VERIFY_RESIZE")
    assert s["OS-EXT-STS:power_state"] == 4        # it stays off on the destination
    m = migration_of(api, sid)
    cloud.osc("server", "resize", "revert", sid, json_out=False)
    s = settled(api, sid, "SHUTOFF")
    assert s["OS-EXT-SRV-ATTR:host"] == source and s["flavor"]["original_name"] == world.flavor_name
    assert held(cloud, token, sid) == {provider_of(cloud, token, source): TINY}
    assert held(cloud, token, m["uuid"]) == {}
    assert migration_of(api, sid)["status"] == "reverted"
    assert {p["binding:host_id"] for p in ports_of(cloud, token, sid)} == {source}
    r = api("POST", f"/servers/{sid}/action", json={"confirmResize": None})
    assert api.fault(r, 409) == f"Cannot 'confirmResize' instance {sid} while it is in vm_state stopped"
    delete_all(api, [sid])
    assert held(cloud, token, sid) == {}


def test_cold_and_live_migration(full_cloud, full_api, world):
    cloud, api, token = full_cloud, full_api, full_api.token
    sid = boot(api, world)
    first = api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    cloud.osc("server", "migrate", "--wait", sid, json_out=False)
    s = settled(api, sid, "VERIFY_RESIZE")
    second = s["OS-EXT-SRV-ATTR:host"]
    assert second != first
    cloud.osc("server", "migrate", "confirm", sid, json_out=False)
    s = settled(api, sid, "ACTIVE")
    assert held(cloud, token, sid) == {provider_of(cloud, token, second): TINY}
    # Live, to the host scheduled: it never stops.
    cloud.osc("server", "migrate", "--live-migration", "--wait", sid, json_out=False)
    s = settled(api, sid, "ACTIVE")
    third = s["OS-EXT-SRV-ATTR:host"]
    assert third != second and s["OS-EXT-STS:power_state"] == 1
    assert held(cloud, token, sid) == {provider_of(cloud, token, third): TINY}
    m = migration_of(api, sid)
    assert (m["migration_type"], m["status"], m["source_compute"], m["dest_compute"]) == (
        "live-migration", "completed", second, third)
    assert held(cloud, token, m["uuid"]) == {}
    listed = cloud.osc("server", "migration", "list", "--server", sid)
    assert sorted(x["Type"] for x in listed) == ["live-migration", "migration"]
    # Live to a chosen host; a paused server stays paused.
    assert api("POST", f"/servers/{sid}/action", json={"pause": None}).status_code == 202
    settled(api, sid, "PAUSED")
    target = next(h for h in world.hosts if h != third)
    # (no --wait: the client waits for ACTIVE, which a paused server never shows, in Nova too)
    cloud.osc("server", "migrate", "--live-migration", "--host", target, sid, json_out=False)
    s = settled_on(api, sid, "PAUSED", target)
    assert s["OS-EXT-STS:power_state"] == 3
    assert held(cloud, token, sid) == {provider_of(cloud, token, target): TINY}
    assert api("POST", f"/servers/{sid}/action", json={"unpause": None}).status_code == 202
    settled(api, sid, "ACTIVE")
    # Cold, to a chosen host (2.56).
    last = next(h for h in world.hosts if h != target)
    cloud.osc("server", "migrate", "--host", last, "--wait", sid, json_out=False)
    assert settled(api, sid, "VERIFY_RESIZE")["OS-EXT-SRV-ATTR:host"] == last
    assert api("POST", f"/servers/{sid}/action", json={"confirmResize": None}).status_code == 204
    settled(api, sid, "ACTIVE")
    assert held(cloud, token, sid) == {provider_of(cloud, token, last): TINY}
    # Refused destinations.
    r = api("POST", f"/servers/{sid}/action", json={"migrate": {"host": last}})
    assert api.fault(r, 400) == "Cannot migrate to the host where the server exists."
    r = api("POST", f"/servers/{sid}/action", json={"migrate": {"host": "nowhere"}})
    assert api.fault(r, 400) == "Compute host nowhere could not be found."
    r = api("POST", f"/servers/{sid}/action", json={"os-migrateLive": {"host": last, "block_migration": "auto"}})
    assert api.fault(r, 400) == f"Unable to migrate instance ({sid}) to current host ({last})."
    delete_all(api, [sid])
    assert held(cloud, token, sid) == {} and ports_of(cloud, token, sid) == []


def test_migrations_views(full_api, world):
    api = full_api
    sid = boot(api, world)
    assert api("POST", f"/servers/{sid}/action", json={"os-migrateLive": {"host": None, "block_migration": "auto"}}
               ).status_code == 202
    settled(api, sid, "ACTIVE")
    assert api("POST", f"/servers/{sid}/action", json={"migrate": None}).status_code == 202
    settled(api, sid, "VERIFY_RESIZE")
    assert api("POST", f"/servers/{sid}/action", json={"confirmResize": None}).status_code == 204
    settled(api, sid, "ACTIVE")
    rows = api("GET", f"/os-migrations?instance_uuid={sid}").json()["migrations"]
    assert [m["migration_type"] for m in rows] == ["migration", "live-migration"]
    assert set(rows[0]) >= {"id", "uuid", "created_at", "updated_at", "dest_compute", "dest_host", "dest_node",
                            "source_compute", "source_node", "status", "instance_uuid", "old_instance_type_id",
                            "new_instance_type_id", "migration_type", "user_id", "project_id"}
    old = api("GET", f"/os-migrations?instance_uuid={sid}", version="2.1").json()["migrations"]
    assert "uuid" not in old[0] and "migration_type" not in old[0]
    page = api("GET", f"/os-migrations?instance_uuid={sid}&limit=1").json()
    assert [m["uuid"] for m in page["migrations"]] == [rows[0]["uuid"]]
    nxt = page["migrations_links"][0]["href"].split("/v2.1", 1)[1]
    assert [m["uuid"] for m in api("GET", nxt).json()["migrations"]] == [rows[1]["uuid"]]
    only = api("GET", f"/os-migrations?instance_uuid={sid}&migration_type=live-migration").json()["migrations"]
    assert [m["status"] for m in only] == ["completed"]
    assert "marker" in api.fault(api("GET", "/os-migrations?marker=nope"), 400).lower()
    # 2.23: a server's in-progress live migrations (none now).
    assert api("GET", f"/servers/{sid}/migrations").json() == {"migrations": []}
    mid = only[0]["id"]
    assert api.fault(api("GET", f"/servers/{sid}/migrations/{mid}"), 404) == \
        f"In-progress live migration {mid} is not found for server {sid}."
    assert api("GET", f"/servers/{sid}/migrations", version="2.22").status_code == 404
    delete_all(api, [sid])


def test_moves_that_fail_leave_the_server_where_it_was(full_cloud, full_api, world):
    cloud, api, token = full_cloud, full_api, full_api.token
    # Over every host's 1000 GB of disk, yet inside the project's quotas (disk is no Nova quota).
    huge = cloud.osc("flavor", "create", "--ram", "1024", "--disk", "5000", "--vcpus", "1", unique("huge"))
    sid = boot(api, world)
    host = api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    assert api("POST", f"/servers/{sid}/action", json={"resize": {"flavorRef": huge["id"]}}).status_code == 202
    s = settled(api, sid, "ACTIVE")
    assert s["OS-EXT-SRV-ATTR:host"] == host and s["flavor"]["vcpus"] == 1
    m = migration_of(api, sid)
    assert m["status"] == "error" and held(cloud, token, m["uuid"]) == {}
    assert held(cloud, token, sid) == {provider_of(cloud, token, host): TINY}
    events = cloud.osc("server", "event", "list", sid)
    rid = next(e["Request ID"] for e in events if e["Action"] == "resize")
    (ev,) = api("GET", f"/servers/{sid}/os-instance-actions/{rid}").json()["instanceAction"]["events"]
    assert ev["event"] == "conductor_migrate_server" and ev["result"] == "Error"
    assert "No valid host was found" in ev["traceback"]
    delete_all(api, [sid])
    # The destination's driver fails: the guest comes back on the source, running.
    sid = boot(api, world, metadata={"fake_fail": "finish_migration"})
    host = api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    assert api("POST", f"/servers/{sid}/action", json={"migrate": None}).status_code == 202
    s = settled(api, sid, "ACTIVE")
    assert s["OS-EXT-SRV-ATTR:host"] == host and migration_of(api, sid)["status"] == "error"
    deadline = time.monotonic() + 10
    while api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-STS:power_state"] != 1:
        assert time.monotonic() < deadline, "the guest did not come back on its source"
        time.sleep(0.3)
    assert held(cloud, token, sid) == {provider_of(cloud, token, host): TINY}
    assert {p["binding:host_id"] for p in ports_of(cloud, token, sid)} == {host}
    delete_all(api, [sid])
    # The source's driver fails: the same.
    sid = boot(api, world, metadata={"fake_fail": "migrate_to"})
    host = api("GET", f"/servers/{sid}").json()["server"]["OS-EXT-SRV-ATTR:host"]
    r = api("POST", f"/servers/{sid}/action", json={"os-migrateLive": {"host": None, "block_migration": "auto"}})
    assert r.status_code == 202
    s = settled(api, sid, "ACTIVE")
    assert s["OS-EXT-SRV-ATTR:host"] == host and migration_of(api, sid)["status"] == "error"
    assert held(cloud, token, sid) == {provider_of(cloud, token, host): TINY}
    delete_all(api, [sid])


def test_delete_in_verify_resize_and_quota(full_cloud, full_api, world, big, tmp_path):
    cloud, api, token = full_cloud, full_api, full_api.token
    sid = boot(api, world)
    assert api("POST", f"/servers/{sid}/action", json={"resize": {"flavorRef": big["id"]}}).status_code == 202
    settled(api, sid, "VERIFY_RESIZE")
    m = migration_of(api, sid)
    assert held(cloud, token, m["uuid"])
    delete_all(api, [sid])
    assert held(cloud, token, sid) == {} and held(cloud, token, m["uuid"]) == {}
    assert ports_of(cloud, token, sid) == []
    assert migration_of(api, sid)["status"] == "error"
    # A resize up is counted against the project's cores (403 as Nova); a member may resize its own.
    member = make_member(cloud, tmp_path)
    cloud.osc("quota", "set", "--cores", "1", member.project_id, json_out=False)
    mid = boot(member.api, world)
    r = member.api("POST", f"/servers/{mid}/action", json={"resize": {"flavorRef": big["id"]}})
    assert member.api.fault(r, 403) == "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores"
    cloud.osc("quota", "set", "--cores", "20", member.project_id, json_out=False)
    member.osc("server", "resize", "--flavor", big["id"], "--wait", mid, json_out=False)
    settled(member.api, mid, "VERIFY_RESIZE")
    member.osc("server", "resize", "confirm", mid, json_out=False)
    settled(member.api, mid, "ACTIVE")
    delete_all(member.api, [mid])
