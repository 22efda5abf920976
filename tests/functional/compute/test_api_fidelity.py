"""Compute API details upstream's clients and tests rely on: request ids, the /v2 document,
microversions 2.97-2.100, update and rebuild answers per microversion, /servers/{id}/ips,
numeric flavor ids, accessIPv6 canonical form, a network without a subnet, an empty usage id."""

from __future__ import annotations

import uuid

import httpx
import openstack
import pytest

from tests.functional.compute.conftest import unique
from tests.functional.compute.servers_fixtures import boot_body, delete_all, make_world, wait_status

# The keys of Nova's update/rebuild server before 2.75 (tempest's v2_1 common_show_server), and what
# 2.9, 2.19, 2.26, 2.63, 2.71 and 2.73 added to them.
UPDATE_2_1 = {"id", "name", "status", "image", "flavor", "user_id", "tenant_id", "created", "updated",
              "progress", "metadata", "links", "addresses", "hostId", "OS-DCF:diskConfig", "accessIPv4",
              "accessIPv6"}
UPDATE_2_74 = UPDATE_2_1 | {"locked", "description", "tags", "trusted_image_certificates", "server_groups",
                            "locked_reason"}


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("fidelity"))


@pytest.fixture(scope="module")
def server(full_api, world):
    r = full_api("POST", "/servers", json={**boot_body(world, unique("fid"), accessIPv6="2001:DB8:0:0::0001"),
                                           "os:scheduler_hints": {"build_near_host_ip": "192.0.2.1"}})
    assert r.status_code == 202, r.text
    s = wait_status(full_api, r.json()["server"]["id"])
    assert s["status"] == "ACTIVE", s
    yield s
    delete_all(full_api, [s["id"]])


def test_request_ids_on_every_answer(full_api):
    for r in (full_api("GET", "/flavors"), full_api("GET", f"/servers/{uuid.uuid4()}"),
              httpx.get(full_api.url + "/", timeout=10)):
        rid = r.headers["x-openstack-request-id"]
        assert rid.startswith("req-") and r.headers["x-compute-request-id"] == rid


def test_v2_version_document(full_cloud):
    r = httpx.get(full_cloud.url("compute", "/v2/"), timeout=10)
    assert r.status_code == 200, r.text
    v = r.json()["version"]
    assert v["id"] == "v2.0" and v["status"] == "SUPPORTED" and v["version"] == "" and v["min_version"] == ""
    assert v["links"][0]["href"].endswith("/v2/") and v["media-types"][0]["base"] == "application/json"


def test_microversion_2_100_is_the_maximum(full_api):
    r = full_api("GET", "/flavors", version="latest")
    assert r.headers["openstack-api-version"] == "compute 2.100"
    assert full_api.fault(full_api("GET", "/flavors", version="2.101"), 406)


def test_share_attachments_not_implemented_from_2_97(full_api, server):
    assert full_api.fault(full_api("GET", f"/servers/{server['id']}/shares", version="2.96"), 404)
    assert "shared file system" in full_api.fault(
        full_api("GET", f"/servers/{server['id']}/shares", version="2.97"), 501)


def test_image_properties_from_2_98_and_scheduler_hints_from_2_100(full_api, world, server):
    sid = server["id"]
    at = {ver: full_api("GET", f"/servers/{sid}", version=ver).json()["server"]
          for ver in ("2.97", "2.98", "2.99", "2.100")}
    assert "properties" not in at["2.97"]["image"]
    props = at["2.98"]["image"]["properties"]
    assert props["base_image_ref"] == world.image_id and all(isinstance(x, str) for x in props.values())
    assert "scheduler_hints" not in at["2.99"]
    assert at["2.100"]["scheduler_hints"] == {"build_near_host_ip": "192.0.2.1"}
    listed = full_api("GET", f"/servers/detail?name={server['name']}", version="2.100").json()["servers"]
    assert listed[0]["scheduler_hints"] == {"build_near_host_ip": "192.0.2.1"}
    assert "properties" in listed[0]["image"]


def test_access_ipv6_kept_compressed(full_api, server):
    assert server["accessIPv6"] == "2001:db8::1"
    r = full_api("PUT", f"/servers/{server['id']}", json={"server": {"accessIPv6": "FE80:0000::00AB"}})
    assert r.status_code == 200, r.text
    assert r.json()["server"]["accessIPv6"] == "fe80::ab"


def test_update_answer_per_microversion(full_api, server):
    sid = server["id"]
    for version, keys in (("2.1", UPDATE_2_1), ("2.74", UPDATE_2_74)):
        r = full_api("PUT", f"/servers/{sid}", json={"server": {"name": server["name"]}}, version=version)
        assert r.status_code == 200, r.text
        body = r.json()["server"]
        assert set(body) == keys, set(body) ^ keys
        for entries in body["addresses"].values():
            assert all(set(a) == {"version", "addr"} for a in entries)
    full = full_api("PUT", f"/servers/{sid}", json={"server": {"name": server["name"]}}, version="2.100")
    shown = full_api("GET", f"/servers/{sid}", version="2.100").json()["server"]
    assert set(full.json()["server"]) == set(shown)


def test_rebuild_answer_per_microversion(full_api, world):
    r = full_api("POST", "/servers", json=boot_body(world, unique("rb")))
    sid = r.json()["server"]["id"]
    wait_status(full_api, sid)
    try:
        r = full_api("POST", f"/servers/{sid}/action", json={"rebuild": {"imageRef": world.image_id}},
                     version="2.56")
        assert r.status_code == 202, r.text
        body = r.json()["server"]
        assert set(body) == UPDATE_2_1 | {"locked", "description", "tags", "key_name", "adminPass"}
        wait_status(full_api, sid)
        r = full_api("POST", f"/servers/{sid}/action", json={"rebuild": {"imageRef": world.image_id}},
                     version="2.100")
        assert r.status_code == 202, r.text
        body = r.json()["server"]
        assert "user_data" in body and "OS-EXT-STS:vm_state" in body and "scheduler_hints" in body
        assert body["image"]["properties"]["base_image_ref"] == world.image_id
        wait_status(full_api, sid)
    finally:
        delete_all(full_api, [sid])


def test_ips_of_a_server(full_cloud, full_api, world, server):
    sid = server["id"]
    r = full_api("GET", f"/servers/{sid}/ips")
    assert r.status_code == 200, r.text
    (addr,) = r.json()["addresses"][world.network_name]
    assert set(addr) == {"version", "addr"} and addr["version"] == 4
    r = full_api("GET", f"/servers/{sid}/ips/{world.network_name}")
    assert r.status_code == 200 and r.json() == {world.network_name: [addr]}
    assert "not a member" in full_api.fault(full_api("GET", f"/servers/{sid}/ips/elsewhere"), 404)
    assert full_api.fault(full_api("GET", f"/servers/{uuid.uuid4()}/ips"), 404)
    # openstacksdk reads the same route
    conn = openstack.connect(auth_url=full_cloud.url("identity", "/v3"), token=full_api.token,
                             auth_type="token", project_id=server["tenant_id"])
    assert [a.address for a in conn.compute.server_ips(sid)] == [addr["addr"]]


def test_flavor_create_with_a_numeric_or_string_id(full_api):
    num = int(uuid.uuid4().int % 10**9) + 10**9
    for given, expected in ((num, str(num)), (f"s-{num}", f"s-{num}")):
        r = full_api("POST", "/flavors", json={"flavor": {"name": unique("fl"), "ram": 64, "vcpus": 1, "disk": 0,
                                                          "id": given}})
        assert r.status_code == 200, r.text
        assert r.json()["flavor"]["id"] == expected
        assert full_api("GET", f"/flavors/{expected}").status_code == 200
        full_api("DELETE", f"/flavors/{expected}")
    r = full_api("POST", "/flavors", json={"flavor": {"name": unique("fl"), "ram": 64, "vcpus": 1, "disk": 0,
                                                      "id": 1e300}})
    assert full_api.fault(r, 400)


def test_network_without_subnet_refused(full_cloud, full_api, world):
    net = full_cloud.osc("network", "create", unique("nosub"))
    r = full_api("POST", "/servers", json={"server": {"name": unique("x"), "flavorRef": world.flavor_id,
                                                      "imageRef": world.image_id,
                                                      "networks": [{"uuid": net["id"]}]}})
    msg = full_api.fault(r, 400)
    assert msg == f"Network {net['id']} requires a subnet in order to boot instances on."
    full_cloud.osc("network", "delete", net["id"], json_out=False)


def test_simple_tenant_usage_with_empty_tenant_id(full_api):
    assert full_api.fault(full_api("GET", "/os-simple-tenant-usage/?start=2020-01-01T00:00:00"), 404)
    assert full_api("GET", "/os-simple-tenant-usage?start=2020-01-01T00:00:00").status_code == 200


def test_server_password_posted_by_the_guest(full_cloud, full_api, server, tmp_path):
    import hashlib
    import hmac
    import json

    from tests.functional.compute.conftest import make_member

    sid = server["id"]
    secret = json.loads((full_cloud.state_dir / "secrets.json").read_text())["metadata_secret"]
    headers = {"X-Instance-ID": sid, "X-Tenant-ID": server["tenant_id"], "X-Forwarded-For": "10.20.0.5",
               "X-Instance-ID-Signature": hmac.new(secret.encode(), sid.encode(), hashlib.sha256).hexdigest()}
    assert full_api("GET", f"/servers/{sid}/os-server-password").json() == {"password": ""}
    r = httpx.post(full_cloud.url("compute-metadata", "/openstack/latest/password"), headers=headers,
                   content=b"c2VjcmV0LWJsb2I=", timeout=30)
    assert r.status_code == 200, r.text
    assert full_api("GET", f"/servers/{sid}/os-server-password").json() == {"password": "c2VjcmV0LWJsb2I="}
    # another project's member does not see the server at all
    m = make_member(full_cloud, tmp_path)
    assert m.api.fault(m.api("GET", f"/servers/{sid}/os-server-password"), 404)
    assert full_api("DELETE", f"/servers/{sid}/os-server-password").status_code == 204
    assert full_api("GET", f"/servers/{sid}/os-server-password").json() == {"password": ""}
    # the CLI's `server show --password`-free path: openstacksdk's get_server_password
    conn = openstack.connect(auth_url=full_cloud.url("identity", "/v3"), token=full_api.token,
                             auth_type="token", project_id=server["tenant_id"])
    assert conn.compute.get_server_password(sid) == ""


def test_instance_usage_audit_log(full_cloud, full_api, world, tmp_path):
    from tests.functional.compute.conftest import make_member

    r = full_api("GET", "/os-instance_usage_audit_log")
    assert r.status_code == 200, r.text
    log = r.json()["instance_usage_audit_logs"]
    hosts = sorted(world.hosts)
    assert log["num_hosts"] == len(hosts) and sorted(log["hosts_not_run"]) == hosts
    assert log["num_hosts_done"] == 0 and log["num_hosts_not_run"] == len(hosts) and log["log"] == {}
    assert log["overall_status"] == f"0 of {len(hosts)} hosts done. 0 errors."
    r = full_api("GET", "/os-instance_usage_audit_log/2012-07-05 10:00:00")
    assert r.status_code == 200, r.text
    one = r.json()["instance_usage_audit_log"]
    assert (one["period_beginning"], one["period_ending"]) == ("2012-06-01 00:00:00", "2012-07-01 00:00:00")
    jan = full_api("GET", "/os-instance_usage_audit_log/2013-01-15 00:00:00.5").json()["instance_usage_audit_log"]
    assert jan["period_beginning"] == "2012-12-01 00:00:00"
    assert "Invalid timestamp" in full_api.fault(full_api("GET", "/os-instance_usage_audit_log/yesterday"), 400)
    m = make_member(full_cloud, tmp_path)
    assert m.api.fault(m.api("GET", "/os-instance_usage_audit_log"), 403)


def test_default_quota_class_applies_to_projects_without_their_own(full_cloud, full_api, world, tmp_path):
    from tests.functional.compute.conftest import make_member

    m = make_member(full_cloud, tmp_path)
    old = full_api("GET", "/os-quota-class-sets/default").json()["quota_class_set"]
    try:
        r = full_api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {"instances": 1,
                                                                                      "key_pairs": 7}})
        assert r.status_code == 200, r.text
        assert full_api("GET", f"/os-quota-sets/{m.project_id}").json()["quota_set"]["instances"] == 1
        assert full_api("GET", f"/os-quota-sets/{m.project_id}/defaults").json()["quota_set"]["key_pairs"] == 7
        limits = m.api("GET", "/limits").json()["limits"]["absolute"]
        assert (limits["maxTotalInstances"], limits["maxTotalKeypairs"]) == (1, 7)
        first = m.api("POST", "/servers", json=boot_body(world, unique("q1")))
        assert first.status_code == 202, first.text
        second = m.api("POST", "/servers", json=boot_body(world, unique("q2")))
        assert "Quota exceeded for instances" in m.api.fault(second, 403)
        # a project's own limit still wins over the class
        assert full_api("PUT", f"/os-quota-sets/{m.project_id}",
                        json={"quota_set": {"instances": 2}}).status_code == 200
        third = m.api("POST", "/servers", json=boot_body(world, unique("q3")))
        assert third.status_code == 202, third.text
        delete_all(m.api, [first.json()["server"]["id"], third.json()["server"]["id"]])
    finally:
        full_api("PUT", "/os-quota-class-sets/default", json={"quota_class_set": {
            "instances": old["instances"], "key_pairs": old["key_pairs"]}})
