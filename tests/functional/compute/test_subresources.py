"""A server's sub-resources and the actions that reach other services, on a full cloud with 3 fake
hosts, through the openstack CLI and raw HTTP: metadata and tags (`server set/unset`), createImage
(a Glance snapshot), security groups, console output, port interfaces, instance action events and
os-simple-tenant-usage; with Nova's 400s for bad bodies and 404s for what does not exist."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import (
    boot,
    delete_all,
    make_world,
    ports_of,
)


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("subresources"))


def idle(api, sid, timeout=60):
    """The server once no task is under way on it."""
    deadline = time.monotonic() + timeout
    s = {}
    while time.monotonic() < deadline:
        s = api("GET", f"/servers/{sid}").json()["server"]
        if s["OS-EXT-STS:task_state"] is None:
            return s
        time.sleep(0.2)
    raise AssertionError(f"server {sid} stays in task {s.get('OS-EXT-STS:task_state')}")


def test_metadata_through_the_cli_and_the_api(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    name = unique("meta")
    sid = boot(api, world, name, metadata={"role": "web"})
    cloud.osc("server", "set", "--property", "tier=front", "--property", "role=db", name, json_out=False)
    assert api("GET", f"/servers/{sid}/metadata").json() == {"metadata": {"role": "db", "tier": "front"}}
    cloud.osc("server", "unset", "--property", "tier", name, json_out=False)
    assert cloud.osc("server", "show", name)["properties"] == {"role": "db"}
    # The item routes.
    r = api("PUT", f"/servers/{sid}/metadata/colour", json={"meta": {"colour": "blue"}})
    assert r.status_code == 200 and r.json() == {"meta": {"colour": "blue"}}
    assert api("GET", f"/servers/{sid}/metadata/colour").json() == {"meta": {"colour": "blue"}}
    r = api("POST", f"/servers/{sid}/metadata", json={"metadata": {"size": "L"}})
    assert r.json()["metadata"] == {"role": "db", "colour": "blue", "size": "L"}
    r = api("PUT", f"/servers/{sid}/metadata", json={"metadata": {"only": "this"}})
    assert r.json() == {"metadata": {"only": "this"}}
    assert api("GET", f"/servers/{sid}").json()["server"]["metadata"] == {"only": "this"}
    assert api("DELETE", f"/servers/{sid}/metadata/only").status_code == 204
    assert api("GET", f"/servers/{sid}/metadata").json() == {"metadata": {}}
    # What Nova refuses.
    assert api.fault(api("GET", f"/servers/{sid}/metadata/only"), 404) == "Metadata item was not found"
    assert api.fault(api("DELETE", f"/servers/{sid}/metadata/only"), 404) == "Metadata item was not found"
    assert api.fault(api("PUT", f"/servers/{sid}/metadata/a", json={"meta": {"b": "1"}}), 400) == (
        "Request body and URI mismatch")
    assert api.fault(api("PUT", f"/servers/{sid}/metadata/a", json={"meta": {"a": "1", "b": "2"}}), 400)
    assert api.fault(api("POST", f"/servers/{sid}/metadata", json={"metadata": {"k": "v" * 256}}), 400)
    assert api.fault(api("POST", f"/servers/{sid}/metadata", json={"meta": {}}), 400)
    assert api.fault(api("POST", f"/servers/{sid}/metadata", content=b"{not json",
                         headers={"Content-Type": "application/json"}), 400)
    ghost = str(uuid.uuid4())
    assert api.fault(api("GET", f"/servers/{ghost}/metadata"), 404) == f"Instance {ghost} could not be found."
    assert api.fault(api("POST", f"/servers/{ghost}/metadata", json={"metadata": {"a": "b"}}), 404)
    delete_all(api, [sid])


def test_tags_from_2_26(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    name = unique("tags")
    sid = boot(api, world, name)
    cloud.osc("server", "set", "--tag", "blue", "--tag", "green", name, json_out=False)
    assert sorted(api("GET", f"/servers/{sid}/tags").json()["tags"]) == ["blue", "green"]
    cloud.osc("server", "unset", "--tag", "blue", name, json_out=False)
    assert api("GET", f"/servers/{sid}/tags").json() == {"tags": ["green"]}
    assert api("GET", f"/servers/{sid}/tags/green").status_code == 204
    assert api.fault(api("GET", f"/servers/{sid}/tags/blue"), 404)
    r = api("PUT", f"/servers/{sid}/tags/red")
    assert r.status_code == 201 and r.headers["Location"].endswith(f"/servers/{sid}/tags/red")
    assert api("PUT", f"/servers/{sid}/tags/red").status_code == 204          # already there
    assert sorted(api("PUT", f"/servers/{sid}/tags", json={"tags": ["x", "y"]}).json()["tags"]) == ["x", "y"]
    assert sorted(api("GET", f"/servers/{sid}").json()["server"]["tags"]) == ["x", "y"]
    assert api.fault(api("DELETE", f"/servers/{sid}/tags/red"), 404)
    assert api("DELETE", f"/servers/{sid}/tags").status_code == 204
    assert api("GET", f"/servers/{sid}/tags").json() == {"tags": []}
    # Bad tags, too many, and before the microversion.
    assert api.fault(api("PUT", f"/servers/{sid}/tags", json={"tags": ["a,b"]}), 400)
    assert api.fault(api("PUT", f"/servers/{sid}/tags", json={"tags": [f"t{i}" for i in range(51)]}), 400)
    assert api.fault(api("PUT", f"/servers/{sid}/tags/{'x' * 61}"), 400).startswith(f"Tag '{'x' * 61}' is invalid")
    assert api("PUT", f"/servers/{sid}/tags", json={"tags": [f"t{i}" for i in range(50)]}).status_code == 200
    assert api.fault(api("PUT", f"/servers/{sid}/tags/one-more"), 400) == (
        "The number of tags exceeded the per-server limit 50")
    assert api("GET", f"/servers/{sid}/tags", version="2.25").status_code == 404
    assert api.fault(api("GET", f"/servers/{uuid.uuid4()}/tags"), 404)
    delete_all(api, [sid])


def test_create_image_makes_a_glance_snapshot(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    sid = boot(api, world)
    snap = unique("snap")
    img = cloud.osc("server", "image", "create", "--name", snap, "--property", "purpose=backup", "--wait", sid)
    shown = cloud.osc("image", "show", img["id"])
    assert shown["status"] == "active" and shown["name"] == snap
    props = shown["properties"]
    assert props["image_type"] == "snapshot" and props["instance_uuid"] == sid
    assert props["purpose"] == "backup" and props["base_image_ref"] == world.image_id
    assert int(shown["size"]) > 0
    assert idle(api, sid)["status"] == "ACTIVE"
    # Before 2.45 the answer is a Location header; from 2.45 the image id in the body.
    r = api("POST", f"/servers/{sid}/action", json={"createImage": {"name": unique("old")}}, version="2.44")
    assert r.status_code == 202 and "/images/" in r.headers["Location"]
    old_id = r.headers["Location"].rsplit("/", 1)[-1]
    idle(api, sid)
    r = api("POST", f"/servers/{sid}/action", json={"createImage": {"name": unique("new")}})
    assert r.status_code == 202 and set(r.json()) == {"image_id"}
    new_id = r.json()["image_id"]
    idle(api, sid)
    events = cloud.osc("server", "event", "list", sid)
    assert [e["Action"] for e in events].count("createImage") == 3
    # Bad bodies.
    assert api.fault(api("POST", f"/servers/{sid}/action", json={"createImage": {}}), 400)
    assert api.fault(api("POST", f"/servers/{sid}/action", json={"createImage": {"name": ""}}), 400)
    assert api.fault(api("POST", f"/servers/{sid}/action",
                         json={"createImage": {"name": "n", "metadata": {"k": 1}}}), 400)
    for image_id in (img["id"], old_id, new_id):
        cloud.osc("image", "delete", image_id, json_out=False)
    delete_all(api, [sid])


def test_security_groups_and_console_output(full_cloud, full_api, world):
    cloud, api, token = full_cloud, full_api, full_api.token
    name = unique("sg")
    sid = boot(api, world, name)
    sg = cloud.osc("security", "group", "create", unique("grp"))
    cloud.osc("server", "add", "security", "group", name, sg["name"], json_out=False)
    (port,) = ports_of(cloud, token, sid)
    assert sg["id"] in port["security_groups"]
    names = {g["name"] for g in api("GET", f"/servers/{sid}/os-security-groups").json()["security_groups"]}
    assert sg["name"] in names
    assert sg["name"] in {g["name"] for g in api("GET", f"/servers/{sid}").json()["server"]["security_groups"]}
    cloud.osc("server", "remove", "security", "group", name, sg["name"], json_out=False)
    (port,) = ports_of(cloud, token, sid)
    assert sg["id"] not in port["security_groups"]
    r = api("POST", f"/servers/{sid}/action", json={"removeSecurityGroup": {"name": sg["name"]}})
    assert api.fault(r, 404) == f"Security group {sg['name']} not associated with the instance {sid}"
    r = api("POST", f"/servers/{sid}/action", json={"addSecurityGroup": {"name": "no-such-group"}})
    assert api.fault(r, 404).startswith("Security group no-such-group is not found")
    assert api.fault(api("POST", f"/servers/{sid}/action", json={"addSecurityGroup": {}}), 400) == (
        "Security group not specified")
    assert api.fault(api("POST", f"/servers/{sid}/action", json={"addSecurityGroup": {"name": " "}}), 400) == (
        "Security group name cannot be empty")
    # The console log: the whole of it, and its last lines.
    log = cloud.osc("console", "log", "show", name, json_out=False)
    assert log.strip()
    tail = cloud.osc("console", "log", "show", "--lines", "2", name, json_out=False)
    assert len(tail.strip().splitlines()) <= 2 and tail.strip().splitlines()[-1] in log
    r = api("POST", f"/servers/{sid}/action", json={"os-getConsoleOutput": {"length": "many"}})
    assert api.fault(r, 400)
    cloud.osc("server", "stop", name, json_out=False)
    deadline = time.monotonic() + 30
    while api("GET", f"/servers/{sid}").json()["server"]["status"] != "SHUTOFF":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    idle(api, sid)
    r = api("POST", f"/servers/{sid}/action", json={"os-getConsoleOutput": {}})
    assert r.status_code == 200 and isinstance(r.json()["output"], str)
    cloud.osc("security", "group", "delete", sg["id"], json_out=False)
    delete_all(api, [sid])


def test_port_interfaces(full_cloud, full_api, world):
    cloud, api, token = full_cloud, full_api, full_api.token
    name = unique("ifc")
    sid = boot(api, world, name)
    (first,) = api("GET", f"/servers/{sid}/os-interface").json()["interfaceAttachments"]
    assert first["net_id"] == world.network_id and first["port_state"] in ("ACTIVE", "DOWN")
    assert first["fixed_ips"][0]["ip_address"].startswith("10.20.0.")
    port = cloud.osc("port", "create", "--network", world.network_id, unique("extra"))
    cloud.osc("server", "add", "port", name, port["id"], json_out=False)
    attached = {a["port_id"] for a in api("GET", f"/servers/{sid}/os-interface").json()["interfaceAttachments"]}
    assert attached == {first["port_id"], port["id"]}
    shown = api("GET", f"/servers/{sid}/os-interface/{port['id']}").json()["interfaceAttachment"]
    assert shown["mac_addr"] == port["mac_address"]
    assert cloud.osc("port", "show", port["id"])["device_id"] == sid
    addresses = api("GET", f"/servers/{sid}").json()["server"]["addresses"][world.network_name]
    assert len(addresses) == 2
    events = cloud.osc("server", "event", "list", sid)
    assert "attach_interface" in [e["Action"] for e in events]
    # A port already bound elsewhere, a port that does not exist, a second attach of the same one.
    r = api("POST", f"/servers/{sid}/os-interface", json={"interfaceAttachment": {"port_id": port["id"]}})
    assert api.fault(r, 409)
    ghost = str(uuid.uuid4())
    r = api("POST", f"/servers/{sid}/os-interface", json={"interfaceAttachment": {"port_id": ghost}})
    assert api.fault(r, 404) == f"Port id {ghost} could not be found."
    r = api("POST", f"/servers/{sid}/os-interface", json={"interfaceAttachment": {
        "net_id": world.network_id, "port_id": port["id"]}})
    assert api.fault(r, 400) == "Must not input both network_id and port_id"
    r = api("POST", f"/servers/{sid}/os-interface", json={"interfaceAttachment": {"port_id": "nope"}})
    assert api.fault(r, 400)
    assert api.fault(api("POST", f"/servers/{sid}/os-interface", json=[]), 400)
    # Attach by network, with a fixed address.
    r = api("POST", f"/servers/{sid}/os-interface", json={"interfaceAttachment": {
        "net_id": world.network_id, "fixed_ips": [{"ip_address": "10.20.0.200"}]}})
    assert r.status_code == 200, r.text
    made = r.json()["interfaceAttachment"]
    assert made["fixed_ips"][0]["ip_address"] == "10.20.0.200"
    # Detach both: the one we brought stays in the network unbound, the one nova made is deleted.
    cloud.osc("server", "remove", "port", name, port["id"], json_out=False)
    assert api("DELETE", f"/servers/{sid}/os-interface/{made['port_id']}").status_code == 202
    deadline = time.monotonic() + 30
    while len(api("GET", f"/servers/{sid}/os-interface").json()["interfaceAttachments"]) != 1:
        assert time.monotonic() < deadline, "the interfaces were not detached"
        time.sleep(0.2)
    left = cloud.osc("port", "show", port["id"])
    assert left["device_id"] == "" and left["binding_host_id"] in ("", None)
    assert {p["id"] for p in ports_of(cloud, token, sid)} == {first["port_id"]}
    r = api("DELETE", f"/servers/{sid}/os-interface/{port['id']}")
    assert api.fault(r, 404)
    assert api.fault(api("GET", f"/servers/{sid}/os-interface/{port['id']}"), 404)
    cloud.osc("port", "delete", port["id"], json_out=False)
    delete_all(api, [sid])


def test_events_and_unknown_servers(full_cloud, full_api, world):
    cloud, api = full_cloud, full_api
    name = unique("ev")
    sid = boot(api, world, name)
    cloud.osc("server", "stop", name, json_out=False)
    idle(api, sid)
    events = cloud.osc("server", "event", "list", name)
    assert [e["Action"] for e in events] == ["stop", "create"]
    rid = events[0]["Request ID"]
    shown = cloud.osc("server", "event", "show", name, rid)
    assert shown["action"] == "stop" and shown["request_id"] == rid
    assert [e["event"] for e in shown["events"]] == ["compute_stop_instance"]
    assert shown["events"][0]["result"] == "Success"
    # Bad bodies on the actions: 400, never a 500.
    for body in ({"reboot": {"type": "SOFTISH"}}, {"reboot": None}, {"resize": {}},
                 {"resize": {"flavorRef": ""}}, {"rebuild": {}}, {"os-migrateLive": {"host": None}},
                 {"lock": {"locked_reason": "x" * 256}}, {"createImage": None}, {"os-stop": None, "os-start": None},
                 ["os-stop"]):
        r = api("POST", f"/servers/{sid}/action", json=body)
        assert r.status_code == 400, (body, r.text)
        assert "badRequest" in r.json()
    r = api("POST", f"/servers/{sid}/action", content=b"{", headers={"Content-Type": "application/json"})
    assert api.fault(r, 400)
    # Actions and sub-resources of a server that is not there: 404.
    ghost = str(uuid.uuid4())
    for body in ({"os-stop": None}, {"reboot": {"type": "HARD"}}, {"lock": None}, {"createImage": {"name": "n"}},
                 {"resize": {"flavorRef": world.flavor_id}}, {"migrate": None}, {"shelve": None},
                 {"addSecurityGroup": {"name": "default"}}, {"os-getConsoleOutput": {}}):
        r = api("POST", f"/servers/{ghost}/action", json=body)
        assert api.fault(r, 404) == f"Instance {ghost} could not be found.", body
    for path in ("os-instance-actions", "os-interface", "os-security-groups", "tags", "diagnostics",
                 "migrations"):
        assert api.fault(api("GET", f"/servers/{ghost}/{path}"), 404), path
    delete_all(api, [sid])


def test_usage(full_cloud, full_api, world, tmp_path):
    cloud, api = full_cloud, full_api
    member = make_member(cloud, tmp_path)
    sid = boot(member.api, world)
    gone = boot(member.api, world)
    delete_all(member.api, [gone])
    time.sleep(1)
    listed = cloud.osc("usage", "list", "--start", "2020-01-01", "--end", "2100-01-01")
    project_name = cloud.osc("project", "show", member.project_id)["name"]
    (mine,) = [u for u in listed if u["Project"] in (member.project_id, project_name)]
    # (-f json shows the servers' usages themselves where the table counts them)
    assert len(mine["Servers"]) == 2 and float(mine["RAM MB-Hours"]) > 0
    shown = member.osc("usage", "show", "--start", "2020-01-01", "--end", "2100-01-01")
    assert {u["instance_id"] for u in shown["Servers"]} == {sid, gone} and float(shown["CPU Hours"]) > 0
    # Raw, detailed: one line per server, the deleted one with its end.
    r = member.api("GET", f"/os-simple-tenant-usage/{member.project_id}?start=2020-01-01T00:00:00"
                          f"&end=2100-01-01T00:00:00&detailed=1")
    assert r.status_code == 200, r.text
    u = r.json()["tenant_usage"]
    rows = {x["instance_id"]: x for x in u["server_usages"]}
    assert set(rows) == {sid, gone}
    assert rows[sid]["state"] == "active" and rows[sid]["ended_at"] is None
    assert rows[gone]["state"] == "terminated" and rows[gone]["ended_at"] is not None
    assert rows[sid]["memory_mb"] == 512 and rows[sid]["vcpus"] == 1 and rows[sid]["flavor"] == world.flavor_name
    assert u["total_vcpus_usage"] > 0 and u["tenant_id"] == member.project_id
    # A window before anything existed is empty; a member sees only its own project.
    r = member.api("GET", f"/os-simple-tenant-usage/{member.project_id}?start=2001-01-01T00:00:00"
                          f"&end=2001-02-01T00:00:00")
    assert r.json() == {"tenant_usage": {}}
    assert member.api("GET", "/os-simple-tenant-usage").status_code == 403
    assert member.api("GET", f"/os-simple-tenant-usage/{uuid.uuid4().hex}").status_code == 403
    # Bad windows.
    r = api("GET", "/os-simple-tenant-usage?start=2021-01-02T00:00:00&end=2021-01-01T00:00:00")
    assert api.fault(r, 400) == "Invalid start time. The start time cannot occur after the end time."
    assert api.fault(api("GET", "/os-simple-tenant-usage?start=yesterday"), 400)
    # Paged from 2.40.
    r = api("GET", "/os-simple-tenant-usage?start=2020-01-01T00:00:00&end=2100-01-01T00:00:00&limit=1")
    assert r.status_code == 200 and len(r.json()["tenant_usages"]) <= 1
    delete_all(member.api, [sid])


def test_diagnostics(full_api, world):
    api = full_api
    sid = boot(api, world)
    d = api("GET", f"/servers/{sid}/diagnostics").json()
    assert d["state"] == "running" and d["num_cpus"] == 1 and d["driver"] == "fake"
    old = api("GET", f"/servers/{sid}/diagnostics", version="2.47").json()
    assert "memory" in old and "cpu0_time" in old
    delete_all(api, [sid])
