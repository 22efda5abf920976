"""Server groups through the CLI and raw HTTP: policies per microversion, members, listing for
admins and members, quotas on groups and on their members, affinity in the scheduler."""

from __future__ import annotations

import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("groups"))


def test_cli_group_lifecycle(full_cloud):
    name = unique("g")
    g = full_cloud.osc("server", "group", "create", "--policy", "soft-anti-affinity", name)
    assert g["name"] == name and g["policy"] == "soft-anti-affinity" and g["members"] == []
    assert name in {r["Name"] for r in full_cloud.osc("server", "group", "list")}
    assert full_cloud.osc("server", "group", "show", name)["id"] == g["id"]
    full_cloud.osc("server", "group", "delete", name, json_out=False)
    assert name not in {r["Name"] for r in full_cloud.osc("server", "group", "list")}


def test_versions_and_validation(full_api):
    r = full_api("POST", "/os-server-groups", json={"server_group": {"name": "old", "policies": ["affinity"]}},
                 version="2.1")
    assert r.status_code == 200, r.text
    old = r.json()["server_group"]
    assert old["policies"] == ["affinity"] and old["metadata"] == {} and "project_id" not in old
    new = full_api("GET", f"/os-server-groups/{old['id']}").json()["server_group"]
    assert new["policy"] == "affinity" and new["rules"] == {} and "policies" not in new and new["project_id"]
    r = full_api("POST", "/os-server-groups", json={"server_group": {
        "name": "limited", "policy": "anti-affinity", "rules": {"max_server_per_host": 2}}})
    assert r.status_code == 200 and r.json()["server_group"]["rules"] == {"max_server_per_host": 2}
    limited = r.json()["server_group"]["id"]
    r = full_api("POST", "/os-server-groups", json={"server_group": {
        "name": "x", "policy": "affinity", "rules": {"max_server_per_host": 2}}})
    assert "Only anti-affinity policy supports rules" in full_api.fault(r, 400)
    r = full_api("POST", "/os-server-groups", json={"server_group": {"name": "x", "policies": ["soft-affinity"]}},
                 version="2.14")
    assert "field/attribute 0" in full_api.fault(r, 400)
    r = full_api("POST", "/os-server-groups", json={"server_group": {"name": "x", "policy": "sideways"}})
    assert "field/attribute policy" in full_api.fault(r, 400)
    r = full_api("POST", "/os-server-groups", json={"server_group": {"name": "x", "policies": ["affinity"]}})
    assert "'policy' is a required property" in full_api.fault(r, 400)
    assert full_api.fault(full_api("GET", "/os-server-groups/00000000-0000-0000-0000-000000000000"), 404)
    for g in (old["id"], limited):
        assert full_api("DELETE", f"/os-server-groups/{g}").status_code == 204
    assert full_api.fault(full_api("DELETE", f"/os-server-groups/{limited}"), 404)


def test_projects_and_quotas(full_cloud, full_api, world, tmp_path):
    m = make_member(full_cloud, tmp_path)
    r = m.api("POST", "/os-server-groups", json={"server_group": {"name": "mine", "policy": "affinity"}})
    assert r.status_code == 200, r.text
    gid = r.json()["server_group"]["id"]
    assert [g["id"] for g in m.api("GET", "/os-server-groups").json()["server_groups"]] == [gid]
    assert gid not in {g["id"] for g in full_api("GET", "/os-server-groups").json()["server_groups"]}
    assert gid in {g["id"] for g in full_api("GET", "/os-server-groups?all_projects=True").json()["server_groups"]}
    assert m.api.fault(m.api("GET", "/os-server-groups?all_projects=True"), 403)
    assert full_api("PUT", f"/os-quota-sets/{m.project_id}", json={"quota_set": {
        "server_groups": 1, "server_group_members": 2}}).status_code == 200
    r = m.api("POST", "/os-server-groups", json={"server_group": {"name": "second", "policy": "affinity"}})
    assert m.api.fault(r, 403) == "Quota exceeded, too many server groups."
    hint = {"os:scheduler_hints": {"group": gid}}
    ids = []
    for _ in range(2):
        r = m.api("POST", "/servers", json={**boot_body(world, unique("aff")), **hint})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    hosts = {wait_status(m.api, i)["id"]: m.api("GET", f"/servers/{i}").json()["server"] for i in ids}
    assert all(s["status"] == "ACTIVE" for s in hosts.values())
    # affinity: both on one host (the admin sees which)
    assert len({full_api("GET", f"/servers/{i}").json()["server"]["OS-EXT-SRV-ATTR:host"] for i in ids}) == 1
    assert m.api("GET", f"/servers/{ids[0]}").json()["server"]["server_groups"] == [gid]
    r = m.api("POST", "/servers", json={**boot_body(world, unique("aff")), **hint})
    assert m.api.fault(r, 403) == "Quota exceeded, too many servers in group"
    r = m.api("POST", "/servers", json={**boot_body(world, unique("x")),
                                        "os:scheduler_hints": {"group": "00000000-0000-0000-0000-000000000000"}})
    assert "could not be found" in m.api.fault(r, 400)
    assert sorted(m.api("GET", f"/os-server-groups/{gid}").json()["server_group"]["members"]) == sorted(ids)
    limits = m.api("GET", "/limits").json()["limits"]["absolute"]
    assert limits["maxServerGroups"] == 1 and limits["totalServerGroupsUsed"] == 1
    delete_all(m.api, ids)
    assert m.api("DELETE", f"/os-server-groups/{gid}").status_code == 204
