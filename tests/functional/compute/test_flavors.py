"""Flavors through the openstack CLI and raw HTTP: create, list, access, extra specs, errors, microversions."""

from __future__ import annotations

from tests.functional.compute.conftest import unique


def test_flavor_cli_lifecycle(compute_cloud):
    name = unique("m1")
    f = compute_cloud.osc("flavor", "create", "--ram", "512", "--disk", "1", "--vcpus", "1",
                          "--description", "tiny one", "--property", "hw:mem_page_size=small", name)
    assert (f["ram"], f["disk"], f["vcpus"], f["swap"]) == (512, 1, 1, 0)
    assert f["properties"] == {"hw:mem_page_size": "small"} and f["description"] == "tiny one"
    assert name in {x["Name"] for x in compute_cloud.osc("flavor", "list")}
    compute_cloud.osc("flavor", "set", "--property", "quota:cpu_shares=100", name, json_out=False)
    compute_cloud.osc("flavor", "unset", "--property", "hw:mem_page_size", name, json_out=False)
    assert compute_cloud.osc("flavor", "show", name)["properties"] == {"quota:cpu_shares": "100"}
    dup = compute_cloud.osc("flavor", "create", "--ram", "1", "--vcpus", "1", name, check=False, json_out=False)
    assert dup.returncode != 0 and "already exists" in dup.stderr
    compute_cloud.osc("flavor", "delete", name, json_out=False)
    gone = compute_cloud.osc("flavor", "show", name, check=False, json_out=False)
    assert gone.returncode != 0


def test_private_flavor_access(compute_cloud, member, api):
    name = unique("private")
    f = compute_cloud.osc("flavor", "create", "--ram", "256", "--vcpus", "1", "--private", name)
    assert f["os-flavor-access:is_public"] is False
    assert member.api.fault(member.api("GET", f"/flavors/{f['id']}"), 404)
    assert f["id"] not in {x["id"] for x in member.api("GET", "/flavors").json()["flavors"]}
    compute_cloud.osc("flavor", "set", "--project", member.project_id, name, json_out=False)
    assert member.api("GET", f"/flavors/{f['id']}").status_code == 200
    assert f["id"] in {x["id"] for x in member.api("GET", "/flavors/detail").json()["flavors"]}
    access = api("GET", f"/flavors/{f['id']}/os-flavor-access").json()["flavor_access"]
    assert access == [{"flavor_id": f["id"], "tenant_id": member.project_id}]
    r = api("POST", f"/flavors/{f['id']}/action", json={"addTenantAccess": {"tenant": member.project_id}})
    assert "already exists" in api.fault(r, 409)
    # admins list public flavors unless they ask for all (is_public=none), as Nova
    assert f["id"] not in {x["id"] for x in api("GET", "/flavors").json()["flavors"]}
    assert f["id"] in {x["id"] for x in api("GET", "/flavors?is_public=none").json()["flavors"]}
    compute_cloud.osc("flavor", "unset", "--project", member.project_id, name, json_out=False)
    assert member.api.fault(member.api("GET", f"/flavors/{f['id']}"), 404)
    public = api("POST", "/flavors", json={"flavor": {"name": unique("pub"), "ram": 1, "vcpus": 1, "disk": 0}})
    pub_id = public.json()["flavor"]["id"]
    assert "public flavors" in api.fault(api("GET", f"/flavors/{pub_id}/os-flavor-access"), 404)
    assert "public flavor" in api.fault(api("POST", f"/flavors/{pub_id}/action",
                                             json={"addTenantAccess": {"tenant": "x"}}), 409)
    for fid in (f["id"], pub_id):
        assert api("DELETE", f"/flavors/{fid}").status_code == 202


def test_members_cannot_manage_flavors(member):
    r = member.api("POST", "/flavors", json={"flavor": {"name": "x", "ram": 1, "vcpus": 1, "disk": 0}})
    assert "os-flavor-manage:create" in member.api.fault(r, 403)


def test_flavor_bad_input(api):
    r = api("POST", "/flavors", json={"flavor": {"name": "x", "ram": "lots", "vcpus": 1, "disk": 0}})
    assert api.fault(r, 400).startswith("Invalid input for field/attribute ram. Value: lots.")
    r = api("POST", "/flavors", json={"flavor": {"name": "x", "vcpus": 1, "disk": 0}})
    assert "'ram' is a required property" in api.fault(r, 400)
    r = api("POST", "/flavors", json={"flavor": {"name": " x", "ram": 1, "vcpus": 1, "disk": 0}})
    assert api.fault(r, 400)
    assert "could not be found" in api.fault(api("GET", "/flavors/nope"), 404)
    assert api.fault(api("GET", "/flavors?sort_key=bogus"), 400)
    assert "Invalid minRam" in api.fault(api("GET", "/flavors?minRam=x"), 400)


def test_microversions_shape_the_flavor(api):
    body = {"flavor": {"name": unique("mv"), "ram": 64, "vcpus": 1, "disk": 0}}
    old = api("POST", "/flavors", json=body, version="2.1")
    assert old.status_code == 200 and old.headers["openstack-api-version"] == "compute 2.1"
    flavor = old.json()["flavor"]
    assert flavor["swap"] == "" and "description" not in flavor and "extra_specs" not in flavor
    new = api("GET", f"/flavors/{flavor['id']}").json()["flavor"]
    assert new["swap"] == 0 and new["description"] is None and new["extra_specs"] == {}
    r = api("GET", "/flavors", version="2.200")
    assert "is not supported by the API" in api.fault(r, 406)
    r = api("GET", "/flavors", version="two")
    assert "invalid format" in api.fault(r, 400)
    legacy = api("GET", "/flavors", version=None, headers={"OpenStack-API-Version": "",
                                                           "X-OpenStack-Nova-API-Version": "2.50"})
    assert legacy.headers["x-openstack-nova-api-version"] == "2.50"
    api("DELETE", f"/flavors/{flavor['id']}")


def test_flavor_paging(api):
    tag = unique("pg")
    ids = [api("POST", "/flavors", json={"flavor": {"name": f"{tag}-{i}", "ram": 64 + i, "vcpus": 1, "disk": 0,
                                                     "id": f"{tag}-{i}"}}).json()["flavor"]["id"]
           for i in range(3)]
    seen, url = [], "/flavors?limit=2&sort_key=name"
    while url:
        body = api("GET", url).json()
        seen += [f["id"] for f in body["flavors"]]
        nxt = body.get("flavors_links")
        url = nxt[0]["href"].split("/v2.1", 1)[1] if nxt else None
    assert [i for i in seen if i.startswith(tag)] == ids
    for fid in ids:
        api("DELETE", f"/flavors/{fid}")


def test_version_discovery(compute_cloud):
    import httpx

    root = httpx.get(compute_cloud.url("compute", "/"), timeout=10).json()
    v21 = [v for v in root["versions"] if v["id"] == "v2.1"][0]
    assert v21["min_version"] == "2.1" and v21["version"] == "2.100"
