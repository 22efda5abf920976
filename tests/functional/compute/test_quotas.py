"""Compute quotas: the CLI's quota set/show and limits show, quota sets and classes over HTTP,
Nova's over-quota wording, and parallel creates that cannot overshoot a quota."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.functional.compute.conftest import make_member, unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("quotas"))


def _servers(api) -> list[str]:
    return [s["id"] for s in api("GET", "/servers").json()["servers"]]


def test_cli_quota_set_then_refused(full_cloud, full_api, world, tmp_path):
    m = make_member(full_cloud, tmp_path)
    full_cloud.osc("quota", "set", "--instances", "2", m.project_id, json_out=False)
    shown = {r["Resource"]: r["Limit"] for r in full_cloud.osc("quota", "show", "--compute", m.project_id)}
    assert shown["instances"] == 2 and shown["cores"] == 20
    ids = []
    for _ in range(2):
        r = m.api("POST", "/servers", json=boot_body(world, unique("q")))
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    res = m.osc("server", "create", "--image", world.image_id, "--flavor", world.flavor_id, "--network",
                world.network_id, unique("third"), check=False)
    assert res.returncode != 0
    assert "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances" in res.stderr
    r = m.api("POST", "/servers", json=boot_body(world, unique("third")))
    assert m.api.fault(r, 403) == "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    limits = {r["Name"]: r["Value"] for r in m.osc("limits", "show", "--absolute")}
    assert limits["max_total_instances"] == 2 and limits["total_instances_used"] == 2
    assert limits["total_cores_used"] == 2 and limits["total_ram_used"] == 1024
    assert sorted(_servers(m.api)) == sorted(ids)
    delete_all(m.api, ids)


def test_quota_sets_api(full_api, full_cloud, world, tmp_path):
    m = make_member(full_cloud, tmp_path)
    pid = m.project_id
    body = full_api("GET", f"/os-quota-sets/{pid}").json()["quota_set"]
    assert body["id"] == pid and body["instances"] == 10 and body["server_group_members"] == 10
    assert "injected_files" not in body and "floating_ips" not in body
    old = full_api("GET", f"/os-quota-sets/{pid}", version="2.35").json()["quota_set"]
    assert old["injected_files"] == 5 and old["floating_ips"] == 10 and old["fixed_ips"] == -1
    assert full_api("GET", f"/os-quota-sets/{pid}/defaults").json()["quota_set"]["cores"] == 20
    r = full_api("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"cores": 3, "ram": -1}})
    assert r.status_code == 200 and r.json()["quota_set"]["cores"] == 3 and "id" not in r.json()["quota_set"]
    r = m.api("POST", "/servers", json=boot_body(world, unique("c"), min_count=1, max_count=5))
    assert r.status_code == 202, r.text
    ids = _servers(m.api)
    assert len(ids) == 3                 # five asked, three fit in 3 cores: Nova boots what fits
    r = m.api("POST", "/servers", json=boot_body(world, unique("c")))
    assert m.api.fault(r, 403) == "Quota exceeded for cores: Requested 1, but already used 3 of 3 cores"
    detail = m.api("GET", f"/os-quota-sets/{pid}/detail").json()["quota_set"]
    assert detail["cores"] == {"in_use": 3, "limit": 3, "reserved": 0}
    assert detail["instances"]["in_use"] == 3
    r = full_api("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"cores": 2}})
    assert full_api.fault(r, 400) == ("Quota limit 2 for cores must be greater than or equal to already used and "
                                      "reserved 3.")
    r = full_api("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"cores": 2, "force": True}})
    assert r.status_code == 200 and r.json()["quota_set"]["cores"] == 2
    assert m.api.fault(m.api("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"cores": 50}}), 403)
    assert m.api.fault(m.api("GET", "/os-quota-sets/someone-else"), 403)
    r = full_api("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"floating_ips": 3}})
    assert "'floating_ips' was unexpected" in full_api.fault(r, 400)
    r = full_api("PUT", f"/os-quota-sets/{pid}", json={"quota_set": {"cores": "many"}})
    assert "field/attribute cores" in full_api.fault(r, 400)
    r = full_api("PUT", f"/os-quota-sets/{pid}?user_id={m.user_id}", json={"quota_set": {"instances": 11}})
    assert "must be less than or equal to 10" in full_api.fault(r, 400)
    r = full_api("PUT", f"/os-quota-sets/{pid}?user_id={m.user_id}", json={"quota_set": {"instances": 5}})
    assert r.status_code == 200
    assert full_api("GET", f"/os-quota-sets/{pid}?user_id={m.user_id}").json()["quota_set"]["instances"] == 5
    assert full_api("DELETE", f"/os-quota-sets/{pid}").status_code == 202
    assert full_api("GET", f"/os-quota-sets/{pid}").json()["quota_set"]["cores"] == 20
    delete_all(m.api, ids)


def test_quota_class_sets(full_api):
    body = full_api("GET", "/os-quota-class-sets/default").json()["quota_class_set"]
    assert body["id"] == "default" and body["instances"] == 10 and body["server_groups"] == 10
    old = full_api("GET", "/os-quota-class-sets/default", version="2.49").json()["quota_class_set"]
    assert "server_groups" not in old and old["floating_ips"] == 10
    r = full_api("PUT", "/os-quota-class-sets/gold", json={"quota_class_set": {"instances": 50}})
    assert r.status_code == 200 and r.json()["quota_class_set"]["instances"] == 50
    assert full_api("GET", "/os-quota-class-sets/gold").json()["quota_class_set"]["cores"] == 20
    assert "'force' was unexpected" in full_api.fault(
        full_api("PUT", "/os-quota-class-sets/gold", json={"quota_class_set": {"force": True}}), 400)


def test_limits(full_api, world):
    absolute = full_api("GET", "/limits").json()["limits"]["absolute"]
    assert {"maxTotalInstances", "maxTotalCores", "maxTotalRAMSize", "maxServerMeta", "maxTotalKeypairs",
            "maxServerGroups", "maxServerGroupMembers", "totalInstancesUsed", "totalCoresUsed", "totalRAMUsed",
            "totalServerGroupsUsed"} == set(absolute)
    old = full_api("GET", "/limits", version="2.1").json()["limits"]
    assert old["rate"] == [] and old["absolute"]["maxPersonality"] == 5 and "maxImageMeta" in old["absolute"]
    assert "maxTotalFloatingIps" in old["absolute"]


def test_parallel_creates_cannot_overshoot(full_cloud, full_api, world, tmp_path):
    m = make_member(full_cloud, tmp_path)
    k, n = 3, 8
    assert full_api("PUT", f"/os-quota-sets/{m.project_id}", json={"quota_set": {"instances": k}}).status_code == 200

    def create(i: int) -> int:
        return m.api("POST", "/servers", json=boot_body(world, f"race-{i}")).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        codes = list(pool.map(create, range(n)))
    assert sorted(codes) == [202] * k + [403] * (n - k), codes
    ids = _servers(m.api)
    assert len(ids) == k
    for sid in ids:
        assert wait_status(m.api, sid)["status"] == "ACTIVE"
    delete_all(m.api, ids)
