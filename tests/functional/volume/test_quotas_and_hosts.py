"""Quotas (os-quota-sets, per type, /limits), services, zones and pools through the real clients."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor


def test_quota_refuses_a_second_create_and_leaves_usage_unchanged(vcloud, member, member_api):
    vcloud.osc("quota", "set", "--volumes", "1", member.project_id, json_out=False)
    first = member.osc("volume", "create", "--size", "1", "q1")
    member_api.wait(first["id"], "available")
    res = member.osc("volume", "create", "--size", "1", "q2", check=False)
    assert res.returncode != 0
    assert "VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded for quota 'volumes'." in res.stderr
    r = member_api("POST", "/volumes", json={"volume": {"size": 1}})
    assert r.status_code == 413
    assert r.json()["overLimit"]["code"] == 413
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert usage["volumes"] == {"limit": 1, "in_use": 1, "reserved": 0}
    assert usage["gigabytes"]["in_use"] == 1
    assert [v["Name"] for v in member.osc("volume", "list")] == ["q1"]
    limits = member_api("GET", "/limits").json()["limits"]["absolute"]
    assert (limits["maxTotalVolumes"], limits["totalVolumesUsed"], limits["totalGigabytesUsed"]) == (1, 1, 1)
    member.osc("volume", "delete", "q1", json_out=False)
    member_api.wait_gone(first["id"])
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert usage["volumes"]["in_use"] == 0 and usage["gigabytes"]["in_use"] == 0


def test_concurrent_creates_never_pass_the_limit(vcloud, member, member_api):
    vcloud.osc("quota", "set", "--volumes", "3", member.project_id, json_out=False)

    def create(_):
        return member_api("POST", "/volumes", json={"volume": {"size": 1}}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(create, range(8)))
    assert sorted(codes) == [202] * 3 + [413] * 5, codes
    usage = member_api("GET", f"/os-quota-sets/{member.project_id}?usage=true").json()["quota_set"]
    assert usage["volumes"]["in_use"] == 3
    for v in member_api("GET", "/volumes").json()["volumes"]:
        member_api.wait(v["id"], "available")
        assert member_api("DELETE", f"/volumes/{v['id']}").status_code == 202


def test_gigabytes_and_per_type_quotas(vcloud, member, member_api, admin_api):
    vcloud.osc("volume", "type", "create", "silver", json_out=False)
    try:
        quota = admin_api("GET", f"/os-quota-sets/{member.project_id}").json()["quota_set"]
        assert quota["volumes_silver"] == -1 and quota["gigabytes___DEFAULT__"] == -1
        r = admin_api("PUT", f"/os-quota-sets/{member.project_id}",
                      json={"quota_set": {"gigabytes": 5, "volumes_silver": 0}})
        assert r.status_code == 200 and r.json()["quota_set"]["gigabytes"] == 5
        big = member_api("POST", "/volumes", json={"volume": {"size": 6}})
        assert big.status_code == 413
        assert ("VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed gigabytes "
                "quota. Requested 6G, quota is 5G and 0G has been consumed.") in big.json()["overLimit"]["message"]
        typed = member_api("POST", "/volumes", json={"volume": {"size": 1, "volume_type": "silver"}})
        assert typed.status_code == 413 and "'volumes_silver'" in typed.text
        assert admin_api("PUT", f"/os-quota-sets/{member.project_id}",
                         json={"quota_set": {"nonsense": 1}}).status_code == 400
        assert member_api("PUT", f"/os-quota-sets/{member.project_id}",
                          json={"quota_set": {"volumes": 100}}).status_code == 403
        assert admin_api("DELETE", f"/os-quota-sets/{member.project_id}").status_code == 200
        assert admin_api("GET", f"/os-quota-sets/{member.project_id}").json()["quota_set"]["gigabytes"] == 1000
    finally:
        vcloud.osc("volume", "type", "delete", "silver", json_out=False)


def test_quota_class_defaults(admin_api, member, member_api):
    r = admin_api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {"snapshots": 7}})
    assert r.status_code == 200 and r.json()["quota_class_set"]["snapshots"] == 7
    assert member_api("GET", f"/os-quota-sets/{member.project_id}/defaults").json()["quota_set"]["snapshots"] == 7
    admin_api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {"snapshots": 10}})


def test_services_zones_and_pools(vcloud):
    svc, backup = sorted(vcloud.osc("volume", "service", "list"), key=lambda x: x["Binary"], reverse=True)
    assert (svc["Binary"], svc["Zone"], svc["Status"], svc["State"]) == ("cinder-volume", "nova", "enabled", "up")
    assert (backup["Binary"], backup["Host"], backup["State"]) == ("cinder-backup", svc["Host"], "up")
    assert svc["Host"].endswith("@fake")
    zones = vcloud.osc("availability", "zone", "list", "--volume")
    assert [(z["Zone Name"], z["Zone Status"]) for z in zones] == [("nova", "available")]
    pools = vcloud.osc("volume", "backend", "pool", "list", "--long")
    (pool,) = pools
    assert pool["Name"] == f"{svc['Host']}#fake"
    assert pool["Capabilities"]["total_capacity_gb"] == 100
    assert pool["Capabilities"]["volume_backend_name"] == "fake"


def test_default_types(vcloud, member, member_api, admin_api):
    vcloud.osc("volume", "type", "create", "project-default", json_out=False)
    try:
        r = admin_api("PUT", f"/default-types/{member.project_id}",
                      json={"default_type": {"volume_type": "project-default"}})
        assert r.status_code == 200, r.text
        vid = member_api("POST", "/volumes", json={"volume": {"size": 1}}).json()["volume"]["id"]
        assert member_api.wait(vid, "available")["volume_type"] == "project-default"
        assert member_api("DELETE", f"/volumes/{vid}").status_code == 202
        member_api.wait_gone(vid)
        assert admin_api("GET", "/default-types", version="3.61").status_code == 404
        assert admin_api("DELETE", f"/default-types/{member.project_id}").status_code == 204
    finally:
        vcloud.osc("volume", "type", "delete", "project-default", json_out=False)
