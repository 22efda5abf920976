"""Servers through the openstack CLI, openstacksdk and raw HTTP on a full cloud with 3 fake hosts:
boot, list, show, update, delete; what a deleted server leaves behind (nothing); views per
microversion; list filters and paging."""

from __future__ import annotations

import base64

import openstack
import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import (
    allocations_of,
    boot_body,
    delete_all,
    make_world,
    ports_of,
    wait_gone,
    wait_status,
)


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("servers"))


def test_cli_boot_list_show_delete(full_cloud, full_api, world):
    cloud, token = full_cloud, full_api.token
    name = unique("cli")
    # By id: as admin the CLI sees every project's "default" group, so the name is ambiguous
    # (upstream Neutron answers admins the same way).
    project = cloud.osc("token", "issue")["project_id"]
    (default,) = [g for g in cloud.osc("security", "group", "list", "--project", project)
                  if g["Name"] == "default"]
    s = cloud.osc("server", "create", "--wait", "--image", world.image_name, "--flavor", world.flavor_name,
                  "--network", world.network_name, "--key-name", world.key_name, "--security-group", default["ID"],
                  name)
    assert s["status"] == "ACTIVE" and s["key_name"] == world.key_name
    assert s["OS-EXT-SRV-ATTR:host"] in world.hosts
    assert list(s["addresses"]) == [world.network_name]
    listed = {r["Name"]: r for r in cloud.osc("server", "list", "--long")}
    row = listed[name]
    assert row["Status"] == "ACTIVE" and row["Image Name"] == world.image_name
    assert row["Flavor"] == world.flavor_name and row["Host"] == s["OS-EXT-SRV-ATTR:host"]
    assert row["Availability Zone"] == "nova"
    shown = cloud.osc("server", "show", name)
    assert shown["id"] == s["id"] and shown["security_groups"] == [{"name": "default"}]
    ports = ports_of(cloud, token, s["id"])
    assert len(ports) == 1 and ports[0]["binding:host_id"] == s["OS-EXT-SRV-ATTR:host"]
    assert ports[0]["device_owner"] == "compute:nova"
    assert ports[0]["fixed_ips"][0]["ip_address"] in str(shown["addresses"])
    alloc = allocations_of(cloud, token, s["id"])
    (resources,) = [a["resources"] for a in alloc.values()]
    assert resources == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    events = cloud.osc("server", "event", "list", name)
    assert [e["Action"] for e in events] == ["create"]
    cloud.osc("server", "delete", "--wait", name, json_out=False)
    assert name not in {r["Name"] for r in cloud.osc("server", "list")}
    assert ports_of(cloud, token, s["id"]) == []
    assert allocations_of(cloud, token, s["id"]) == {}


def test_openstacksdk_create_server(full_cloud, world):
    from openstack import config

    region = config.OpenStackConfig(config_files=[str(full_cloud.state_dir / "clouds.yaml")]).get_one("nubes")
    conn = openstack.connection.Connection(config=region)
    try:
        server = conn.create_server(unique("sdk"), image=world.image_id, flavor=world.flavor_id,
                                    network=world.network_name, wait=True, timeout=60)
        assert server.status == "ACTIVE"
        assert conn.compute.get_server(server.id).addresses[world.network_name][0]["version"] == 4
        assert conn.delete_server(server.id, wait=True, timeout=60)
    finally:
        conn.close()


def test_create_response_and_detail_view(full_api, world):
    r = full_api("POST", "/servers", json=boot_body(
        world, unique("view"), metadata={"role": "web"}, tags=["a", "b"], description="d1",
        adminPass="s3cret-pass", accessIPv4="192.0.2.10",
        user_data=base64.b64encode(b"#!/bin/sh\necho hi\n").decode()))
    assert r.status_code == 202, r.text
    created = r.json()["server"]
    assert set(created) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert created["adminPass"] == "s3cret-pass" and r.headers["location"].endswith(created["id"])
    s = wait_status(full_api, created["id"])
    assert s["status"] == "ACTIVE" and s["OS-EXT-STS:vm_state"] == "active" and s["OS-EXT-STS:power_state"] == 1
    assert s["metadata"] == {"role": "web"} and s["tags"] == ["a", "b"] and s["description"] == "d1"
    assert s["accessIPv4"] == "192.0.2.10" and s["locked"] is False and s["locked_reason"] is None
    assert s["flavor"]["original_name"] == world.flavor_name and s["flavor"]["ram"] == 512
    assert s["image"]["id"] == world.image_id and len(s["hostId"]) == 56
    assert s["OS-EXT-SRV-ATTR:instance_name"].startswith("instance-")
    assert s["OS-EXT-SRV-ATTR:user_data"] and s["OS-SRV-USG:launched_at"]
    assert s["host_status"] == "UP" and s["server_groups"] == [] and s["pinned_availability_zone"] is None
    assert s["trusted_image_certificates"] is None and s["progress"] == 0
    (addr,) = s["addresses"][world.network_name]
    assert addr["OS-EXT-IPS:type"] == "fixed" and addr["OS-EXT-IPS-MAC:mac_addr"].count(":") == 5
    old = full_api("GET", f"/servers/{s['id']}", version="2.1").json()["server"]
    assert old["flavor"] == {"id": world.flavor_id, "links": old["flavor"]["links"]}
    assert "locked" not in old and "tags" not in old and "description" not in old
    assert "OS-EXT-SRV-ATTR:hostname" not in old and "OS-EXT-SRV-ATTR:host" in old
    delete_all(full_api, [s["id"]])


def test_update_and_member_view(full_cloud, full_api, world, tmp_path):
    from tests.functional.compute.conftest import make_member

    m = make_member(full_cloud, tmp_path)
    r = m.api("POST", "/servers", json=boot_body(world, unique("mine")))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    s = wait_status(m.api, sid)
    assert "OS-EXT-SRV-ATTR:host" not in s and "host_status" not in s
    assert s["OS-EXT-SRV-ATTR:hostname"] and s["tenant_id"] == m.project_id
    r = m.api("PUT", f"/servers/{sid}", json={"server": {"name": "renamed", "description": "new",
                                                          "hostname": "web-01"}})
    assert r.status_code == 200, r.text
    body = r.json()["server"]
    assert body["name"] == "renamed" and body["description"] == "new" and body["OS-EXT-SRV-ATTR:hostname"] == "web-01"
    assert full_api.fault(full_api("PUT", f"/servers/{sid}", json={"server": {"bogus": 1}}), 400)
    # Another project's server does not exist for a member; the admin sees it with all_tenants.
    theirs = full_api("POST", "/servers", json=boot_body(world, unique("admins")))
    tid = theirs.json()["server"]["id"]
    assert m.api.fault(m.api("GET", f"/servers/{tid}"), 404)
    assert m.api.fault(m.api("DELETE", f"/servers/{tid}"), 404)
    ids = {x["id"] for x in full_api("GET", "/servers?all_tenants=1").json()["servers"]}
    assert {sid, tid} <= ids
    assert sid not in {x["id"] for x in full_api("GET", "/servers").json()["servers"]}
    assert {x["id"] for x in m.api("GET", "/servers").json()["servers"]} == {sid}
    assert m.api("DELETE", f"/servers/{sid}").status_code == 204
    wait_gone(m.api, sid)
    delete_all(full_api, [tid])


def test_list_filters_sorting_and_paging(full_api, world):
    tag = unique("t")
    r = full_api("POST", "/servers", json=boot_body(world, f"{tag}-x", min_count=3, max_count=3, tags=[tag]))
    assert r.status_code == 202, r.text
    first = r.json()["server"]["id"]
    listed = full_api("GET", f"/servers/detail?tags={tag}").json()["servers"]
    ids = [s["id"] for s in listed]
    assert len(ids) == 3 and first in ids
    listed = [wait_status(full_api, s["id"]) for s in listed]
    names = sorted(s["name"] for s in listed)
    assert names == [f"{tag}-x-1", f"{tag}-x-2", f"{tag}-x-3"]
    assert len({s["OS-EXT-SRV-ATTR:reservation_id"] for s in listed}) == 1
    assert sorted(s["OS-EXT-SRV-ATTR:launch_index"] for s in listed) == [0, 1, 2]
    by_name = full_api("GET", f"/servers?name={tag}-x-[12]$&sort_key=display_name&sort_dir=asc").json()
    assert [s["name"] for s in by_name["servers"]] == [f"{tag}-x-1", f"{tag}-x-2"]
    page = full_api("GET", f"/servers?tags={tag}&limit=2&sort_key=display_name&sort_dir=asc").json()
    assert [s["name"] for s in page["servers"]] == [f"{tag}-x-1", f"{tag}-x-2"]
    nxt = page["servers_links"][0]["href"].split("/v2.1", 1)[1]
    assert [s["name"] for s in full_api("GET", nxt).json()["servers"]] == [f"{tag}-x-3"]
    assert full_api("GET", f"/servers?tags={tag}&status=ACTIVE").json()["servers"].__len__() == 3
    assert full_api("GET", f"/servers?tags={tag}&status=SHUTOFF").json()["servers"] == []
    assert full_api("GET", f"/servers?not-tags={tag}&tags-any={tag}").json()["servers"] == []
    assert len(full_api("GET", f"/servers?tags={tag}&flavor={world.flavor_id}&image={world.image_id}")
               .json()["servers"]) == 3
    ip = listed[0]["addresses"][world.network_name][0]["addr"]
    assert [s["id"] for s in full_api("GET", f"/servers?tags={tag}&ip={ip}$").json()["servers"]] == [listed[0]["id"]]
    host = listed[0]["OS-EXT-SRV-ATTR:host"]
    assert all(s["OS-EXT-SRV-ATTR:host"] == host
               for s in full_api("GET", f"/servers/detail?tags={tag}&host={host}").json()["servers"])
    assert "Invalid status value" in full_api.fault(full_api("GET", "/servers?status=NOPE"), 400)
    assert full_api("GET", "/servers?status=NOPE", version="2.37").json()["servers"] == []
    assert "marker [nope] not found" in full_api.fault(full_api("GET", "/servers?marker=nope"), 400)
    delete_all(full_api, ids)
    deleted = full_api("GET", f"/servers/detail?deleted=true&tags={tag}").json()["servers"]
    assert {s["id"] for s in deleted} == set(ids) and {s["status"] for s in deleted} == {"DELETED"}
    assert full_api("GET", f"/servers?tags={tag}").json()["servers"] == []


def test_return_reservation_id_and_passed_port_is_kept(full_cloud, full_api, world):
    r = full_api("POST", "/servers", json=boot_body(world, unique("res"), return_reservation_id=True))
    assert r.status_code == 202 and r.json()["reservation_id"].startswith("r-")
    rid = r.json()["reservation_id"]
    (s,) = full_api("GET", f"/servers?reservation_id={rid}").json()["servers"]
    port = full_cloud.osc("port", "create", "--network", world.network_name, unique("p"))
    r = full_api("POST", "/servers", json={"server": {"name": unique("byport"), "flavorRef": world.flavor_id,
                                                      "imageRef": world.image_id,
                                                      "networks": [{"port": port["id"]}]}})
    pid_server = r.json()["server"]["id"]
    assert wait_status(full_api, pid_server)["status"] == "ACTIVE"
    r = full_api("POST", "/servers", json={"server": {"name": unique("steal"), "flavorRef": world.flavor_id,
                                                      "imageRef": world.image_id,
                                                      "networks": [{"port": port["id"]}]}})
    assert f"Port {port['id']} is still in use." in full_api.fault(r, 409)
    delete_all(full_api, [s["id"], pid_server])
    kept = full_cloud.osc("port", "show", port["id"])
    assert kept["device_id"] == "" and kept["binding_host_id"] in ("", None)
    full_cloud.osc("port", "delete", port["id"], json_out=False)
