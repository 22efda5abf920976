"""Volumes through the real clients: create, list, show, set, delete; the catalog and URL forms."""

from __future__ import annotations

import httpx
import openstack

from tests.functional.volume.conftest import VolumeApi


def test_catalog_has_both_types_with_the_project_substituted(vcloud, member):
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": member.token}},
                     "scope": {"project": {"id": member.project_id}}}}
    r = httpx.post(f"{vcloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    catalog = {s["type"]: s for s in r.json()["token"]["catalog"]}
    for kind in ("volumev3", "block-storage"):
        urls = {e["url"] for e in catalog[kind]["endpoints"]}
        assert urls == {vcloud.url("volume", f"/v3/{member.project_id}")}, urls


def test_routes_answer_with_and_without_the_project_id(member, member_api):
    assert member_api("GET", "/volumes").status_code == 200
    assert member_api("GET", "/volumes", project=member.project_id).status_code == 200
    other = member_api("GET", "/volumes", project="0" * 32)
    assert other.status_code == 400 and other.json()["badRequest"]["message"] == "Malformed request url"


def test_versions(vcloud):
    root = httpx.get(vcloud.url("volume", "/"), timeout=30)
    assert root.status_code == 300
    (v3,) = root.json()["versions"]
    assert (v3["id"], v3["min_version"], v3["version"]) == ("v3.0", "3.0", "3.71")
    r = httpx.get(vcloud.url("volume", "/v3/"), timeout=30)
    assert r.status_code == 200 and r.json()["versions"][0]["id"] == "v3.0"


def test_volume_lifecycle_with_openstack_cli(vcloud, member, member_api):
    v = member.osc("volume", "create", "--size", "1", "--property", "k=v", "--description", "d", "vol-a")
    assert v["size"] == 1 and v["name"] == "vol-a"
    member_api.wait(v["id"], "available")
    shown = member.osc("volume", "show", "vol-a")
    assert shown["status"] == "available" and shown["properties"] == {"k": "v"}
    assert shown["type"] == "__DEFAULT__"
    member.osc("volume", "set", "--name", "vol-b", "--property", "x=y", "vol-a", json_out=False)
    shown = member.osc("volume", "show", v["id"])
    assert shown["name"] == "vol-b" and shown["properties"] == {"k": "v", "x": "y"}
    listed = member.osc("volume", "list")
    assert [x["ID"] for x in listed] == [v["id"]]
    member.osc("volume", "delete", v["id"], json_out=False)
    member_api.wait_gone(v["id"])
    assert member.osc("volume", "list") == []


def test_type_with_properties_private_and_project_access(vcloud, member, member_api):
    t = vcloud.osc("volume", "type", "create", "--property", "volume_backend_name=fake", "--private",
                   "gold-private")
    assert t["is_public"] is False
    # a private type the project has no access to is not found
    refused = member_api("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "gold-private"}})
    assert refused.status_code == 404, refused.text
    assert "gold-private" in refused.json()["itemNotFound"]["message"]
    vcloud.osc("volume", "type", "set", "--project", member.project_id, "gold-private", json_out=False)
    v = member.osc("volume", "create", "--size", "2", "--type", "gold-private", "typed")
    volume = member_api.wait(v["id"], "available")
    assert volume["volume_type"] == "gold-private" and volume["volume_type_id"] == t["id"]
    # an admin sees the backend it landed on
    admin = vcloud.osc("volume", "show", v["id"])
    assert admin["os-vol-host-attr:host"].endswith("@fake#fake")
    member.osc("volume", "delete", v["id"], json_out=False)
    member_api.wait_gone(v["id"])
    vcloud.osc("volume", "type", "delete", "gold-private", json_out=False)


def test_no_valid_backend_is_an_error_with_a_user_message(vcloud, member, member_api):
    vcloud.osc("volume", "type", "create", "--property", "volume_backend_name=nowhere", "nowhere",
               json_out=False)
    try:
        r = member_api("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "nowhere"}})
        assert r.status_code == 202, r.text
        vid = r.json()["volume"]["id"]
        member_api.wait(vid, "error")
        messages = member_api("GET", "/messages").json()["messages"]
        (m,) = [m for m in messages if m["resource_uuid"] == vid]
        assert "Could not find any available weighted backend" in m["user_message"]
        assert m["event_id"] == "VOLUME_VOLUME_001_003"
        # an errored volume may be deleted, and its quota comes back
        assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
        member_api.wait_gone(vid)
        usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
        assert usage["volumes"]["in_use"] == 0 and usage["gigabytes"]["in_use"] == 0
    finally:
        vcloud.osc("volume", "type", "delete", "nowhere", json_out=False)


def test_bad_input_leaves_nothing(member, member_api):
    cases = [({"size": 1, "volume_type": "no-such-type"}, 404, "itemNotFound"),
             ({"size": 1, "availability_zone": "no-such-zone"}, 400, "badRequest"),
             ({"size": 0}, 400, "badRequest"), ({"size": "x"}, 400, "badRequest"),
             ({"size": 1, "bogus": 1}, 400, "badRequest")]
    for body, status, fault in cases:
        r = member_api("POST", "/volumes", json={"volume": body})
        assert r.status_code == status, (body, r.text)
        assert set(r.json()) == {fault}, r.text
    assert "Availability zone 'no-such-zone' is invalid." in member_api(
        "POST", "/volumes", json={"volume": {"size": 1, "availability_zone": "no-such-zone"}}).text
    assert member_api("GET", "/volumes").json()["volumes"] == []
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert usage["volumes"]["in_use"] == 0
    assert member_api("GET", "/volumes/00000000-0000-0000-0000-000000000000").json() == {
        "itemNotFound": {"code": 404, "message": "Volume 00000000-0000-0000-0000-000000000000 could not be found."}}


def test_list_filters_sort_and_paging(member, member_api):
    ids = []
    for i in range(3):
        r = member_api("POST", "/volumes", json={"volume": {"size": i + 1, "name": f"page-{i}",
                                                            "metadata": {"n": str(i)}}})
        ids.append(r.json()["volume"]["id"])
    for vid in ids:
        member_api.wait(vid, "available")
    r = member_api("GET", "/volumes/detail?sort=size:asc&limit=2").json()
    assert [v["id"] for v in r["volumes"]] == ids[:2]
    nxt = r["volumes_links"][0]["href"]
    assert "marker=" + ids[1] in nxt
    rest = httpx.get(nxt, headers={"X-Auth-Token": member_api.token,
                                   "OpenStack-API-Version": "volume 3.71"}, timeout=30).json()
    assert [v["id"] for v in rest["volumes"]] == ids[2:]
    assert [v["id"] for v in member_api("GET", "/volumes?name=page-1").json()["volumes"]] == [ids[1]]
    assert [v["id"] for v in member_api("GET", "/volumes?name~=age-2").json()["volumes"]] == [ids[2]]
    meta = member_api("GET", "/volumes", params={"metadata": "{'n': '0'}"}).json()["volumes"]
    assert [v["id"] for v in meta] == [ids[0]]
    counted = member_api("GET", "/volumes?with_count=true&limit=1").json()
    assert counted["count"] == 3 and len(counted["volumes"]) == 1
    summary = member_api("GET", "/volumes/summary").json()["volume-summary"]
    assert summary["total_count"] == 3 and summary["total_size"] == 6
    assert sorted(summary["metadata"]["n"]) == ["0", "1", "2"]
    assert member_api("GET", "/volumes/summary", version="3.11").status_code == 404
    assert member_api("GET", "/volumes?sort=bogus:asc").status_code == 400
    # the list view before 3.63 has no volume_type_id
    old = member_api("GET", f"/volumes/{ids[0]}", version="3.0").json()["volume"]
    assert "volume_type_id" not in old and "group_id" not in old
    for vid in ids:
        assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_metadata_sub_resource(member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1, "metadata": {"a": "1"}}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    assert member_api("POST", f"/volumes/{vid}/metadata", json={"metadata": {"b": "2"}}).json() == {
        "metadata": {"a": "1", "b": "2"}}
    assert member_api("PUT", f"/volumes/{vid}/metadata/b", json={"meta": {"b": "3"}}).json() == {"meta": {"b": "3"}}
    assert member_api("GET", f"/volumes/{vid}/metadata/b").json() == {"meta": {"b": "3"}}
    assert member_api("PUT", f"/volumes/{vid}/metadata", json={"metadata": {"c": "4"}}).json() == {
        "metadata": {"c": "4"}}
    assert member_api("DELETE", f"/volumes/{vid}/metadata/c").status_code == 200
    assert member_api("GET", f"/volumes/{vid}/metadata/c").status_code == 404
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_openstacksdk_create_wait_delete(vcloud, member):
    conn = openstack.connect(auth_url=vcloud.auth_url, username=member.name, password=member.password,
                             project_id=member.project_id, user_domain_id="default")
    try:
        volume = conn.block_storage.create_volume(size=1, name="sdk-vol", metadata={"via": "sdk"})
        volume = conn.block_storage.wait_for_status(volume, status="available", failures=["error"],
                                                    interval=0.1, wait=30)
        assert volume.size == 1 and volume.metadata == {"via": "sdk"}
        assert [v.id for v in conn.block_storage.volumes()] == [volume.id]
        conn.block_storage.delete_volume(volume)
        conn.block_storage.wait_for_delete(volume, interval=0.1, wait=30)
    finally:
        conn.close()


def test_unimplemented_sources_answer_501(member_api: VolumeApi):
    r = member_api("POST", "/volumes", json={"volume": {"size": 1, "group_id": "x"}})
    assert r.status_code == 501 and "group_id" in r.json()["notImplemented"]["message"]
    assert member_api("GET", "/groups").status_code == 501


def test_all_tenants_is_for_admins_and_private_types_stay_hidden(vcloud, member, member_api, admin_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1, "name": "mine"}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    assert vid not in [v["id"] for v in admin_api("GET", "/volumes").json()["volumes"]]
    everyone = admin_api("GET", "/volumes/detail?all_tenants=1").json()["volumes"]
    (found,) = [v for v in everyone if v["id"] == vid]
    assert found["os-vol-tenant-attr:tenant_id"] == member.project_id
    only = admin_api("GET", f"/volumes?all_tenants=1&project_id={member.project_id}").json()["volumes"]
    assert [v["id"] for v in only] == [vid]
    # a member asking for all tenants sees its own
    assert [v["id"] for v in member_api("GET", "/volumes?all_tenants=1").json()["volumes"]] == [vid]
    vcloud.osc("volume", "type", "create", "--private", "hidden-type", json_out=False)
    try:
        names = [t["Name"] for t in member.osc("volume", "type", "list")]
        assert "__DEFAULT__" in names and "hidden-type" not in names
        assert "hidden-type" in [t["Name"] for t in vcloud.osc("volume", "type", "list", "--private")]
    finally:
        vcloud.osc("volume", "type", "delete", "hidden-type", json_out=False)
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202


def test_metadata_etags_from_3_15(member_api):
    vid = member_api("POST", "/volumes", json={"volume": {"size": 1, "metadata": {"a": "1"}}}).json()["volume"]["id"]
    member_api.wait(vid, "available")
    assert "etag" not in member_api("GET", f"/volumes/{vid}/metadata", version="3.14").headers
    etag = member_api("GET", f"/volumes/{vid}/metadata").headers["etag"]
    member_api("POST", f"/volumes/{vid}/metadata", json={"metadata": {"b": "2"}})     # someone else's change
    import httpx

    stale = httpx.put(f"{member_api.url}/v3/volumes/{vid}/metadata", json={"metadata": {"c": "3"}}, timeout=30,
                      headers={"X-Auth-Token": member_api.token, "OpenStack-API-Version": "volume 3.71",
                               "If-Match": etag})
    assert stale.status_code == 412, stale.text
    fresh = member_api("GET", f"/volumes/{vid}/metadata").headers["etag"]
    ok = httpx.put(f"{member_api.url}/v3/volumes/{vid}/metadata", json={"metadata": {"c": "3"}}, timeout=30,
                   headers={"X-Auth-Token": member_api.token, "OpenStack-API-Version": "volume 3.71",
                            "If-Match": fresh})
    assert ok.status_code == 200 and ok.json() == {"metadata": {"c": "3"}}
    assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
