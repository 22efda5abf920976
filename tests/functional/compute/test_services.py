"""Compute services on a cloud of three fake hosts: listed with the CLI, disabled and forced down
(both API forms), their placement trait, heartbeats, deletes, and the bad requests."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.functional.compute.conftest import FAKE_HOSTS, make_member

DISABLED = "COMPUTE_STATUS_DISABLED"


def services(api, version: str = "2.96", **query) -> list[dict]:
    r = api("GET", "/os-services", params=query, version=version)
    assert r.status_code == 200, r.text
    return r.json()["services"]


def compute_hosts(api) -> list[str]:
    return sorted(s["host"] for s in services(api, binary="nova-compute"))


def placement(cloud, path: str, version: str = "1.20") -> httpx.Response:
    return httpx.get(cloud.url("placement", path), timeout=30, headers={
        "X-Auth-Token": cloud.token(), "OpenStack-API-Version": f"placement {version}"})


def provider_traits(cloud, node_uuid: str) -> list[str]:
    r = placement(cloud, f"/resource_providers/{node_uuid}/traits")
    assert r.status_code == 200, r.text
    return r.json()["traits"]


def node_uuid(api, host: str) -> str:
    (hv,) = api("GET", f"/os-hypervisors/detail?hypervisor_hostname_pattern={host}").json()["hypervisors"]
    return hv["id"]


def eventually(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_cli_lists_compute_conductor_and_scheduler_services(full_cloud, full_api):
    rows = full_cloud.osc("compute", "service", "list")
    computes = [r for r in rows if r["Binary"] == "nova-compute"]
    assert len(computes) == FAKE_HOSTS
    assert all(r["State"] == "up" and r["Status"] == "enabled" and r["Zone"] == "nova" for r in computes)
    others = {r["Binary"]: r for r in rows if r["Binary"] != "nova-compute"}
    assert set(others) == {"nova-conductor", "nova-scheduler"}
    assert all(r["Zone"] == "internal" and r["State"] == "up" for r in others.values())
    # filters, by host and by binary
    host = computes[0]["Host"]
    assert [r["Binary"] for r in full_cloud.osc("compute", "service", "list", "--host", host)] == ["nova-compute"]
    assert len(full_cloud.osc("compute", "service", "list", "--service", "nova-compute")) == FAKE_HOSTS


def test_heartbeats_keep_services_up(full_api):
    before = {s["host"]: s["updated_at"] for s in services(full_api, binary="nova-compute")}
    time.sleep(2.5)                                     # report_interval is 1 s on this cloud
    after = services(full_api, binary="nova-compute")
    assert all(s["state"] == "up" and s["updated_at"] > before[s["host"]] for s in after)


def test_cli_disable_enable_and_the_placement_trait(full_cloud, full_api):
    host = compute_hosts(full_api)[0]
    rp = node_uuid(full_api, host)
    assert DISABLED not in provider_traits(full_cloud, rp)
    try:
        full_cloud.osc("compute", "service", "set", "--disable", "--disable-reason", "maintenance", host,
                       "nova-compute", json_out=False)
        (svc,) = services(full_api, host=host)
        assert (svc["status"], svc["disabled_reason"], svc["state"]) == ("disabled", "maintenance", "up")
        assert eventually(lambda: DISABLED in provider_traits(full_cloud, rp))
        long = [r for r in full_cloud.osc("compute", "service", "list", "--long") if r["Host"] == host]
        assert long[0]["Disabled Reason"] == "maintenance"
    finally:
        full_cloud.osc("compute", "service", "set", "--enable", host, "nova-compute", json_out=False)
    (svc,) = services(full_api, host=host)
    assert (svc["status"], svc["disabled_reason"]) == ("enabled", None)
    assert eventually(lambda: DISABLED not in provider_traits(full_cloud, rp))


def test_cli_force_down_and_up(full_cloud, full_api):
    host = compute_hosts(full_api)[1]
    try:
        full_cloud.osc("compute", "service", "set", "--down", host, "nova-compute", json_out=False)
        (svc,) = services(full_api, host=host)
        assert svc["state"] == "down" and svc["forced_down"] is True     # heartbeats or not
        (hv,) = full_api("GET", f"/os-hypervisors?hypervisor_hostname_pattern={host}").json()["hypervisors"]
        assert hv["state"] == "down"
    finally:
        full_cloud.osc("compute", "service", "set", "--up", host, "nova-compute", json_out=False)
    (svc,) = services(full_api, host=host)
    assert svc["state"] == "up" and svc["forced_down"] is False


def test_views_per_microversion(full_api):
    old = services(full_api, version="2.1", binary="nova-compute")
    assert all(isinstance(s["id"], int) and "forced_down" not in s for s in old)
    assert set(old[0]) == {"id", "binary", "host", "zone", "status", "state", "updated_at", "disabled_reason"}
    mid = services(full_api, version="2.11", binary="nova-compute")
    assert all(isinstance(s["id"], int) and s["forced_down"] is False for s in mid)
    new = services(full_api, version="2.53", binary="nova-compute")
    assert all(uuid.UUID(s["id"]) for s in new)
    assert services(full_api, version="2.74", foo="bar")                 # extra query ignored before 2.75
    r = full_api("GET", "/os-services?foo=bar", version="2.75")
    assert "Additional properties are not allowed" in full_api.fault(r, 400)


def test_legacy_updates_before_2_53(full_api):
    host = compute_hosts(full_api)[2]
    try:
        r = full_api("PUT", "/os-services/disable-log-reason", version="2.11",
                     json={"host": host, "binary": "nova-compute", "disabled_reason": "disk swap"})
        assert r.status_code == 200, r.text
        assert r.json() == {"service": {"host": host, "binary": "nova-compute", "status": "disabled",
                                        "disabled_reason": "disk swap"}}
        r = full_api("PUT", "/os-services/force-down", version="2.11",
                     json={"host": host, "binary": "nova-compute", "forced_down": True})
        assert r.json() == {"service": {"host": host, "binary": "nova-compute", "forced_down": True}}
    finally:
        r = full_api("PUT", "/os-services/enable", version="2.1", json={"host": host, "binary": "nova-compute"})
        assert r.json() == {"service": {"host": host, "binary": "nova-compute", "status": "enabled"}}
        full_api("PUT", "/os-services/force-down", version="2.11",
                 json={"host": host, "binary": "nova-compute", "forced_down": False})
    (svc,) = services(full_api, host=host)
    assert (svc["status"], svc["state"], svc["disabled_reason"]) == ("enabled", "up", None)


def test_update_errors(full_api):
    host = compute_hosts(full_api)[0]
    body = {"host": host, "binary": "nova-compute"}
    assert full_api.fault(full_api("PUT", "/os-services/force-down", version="2.10", json=body),
                          404) == "Unknown action"
    assert full_api.fault(full_api("PUT", "/os-services/force-down", version="2.11", json=body),
                          400) == "Missing forced_down field"
    assert full_api.fault(full_api("PUT", "/os-services/disable-log-reason", version="2.11", json=body),
                          400) == "Missing disabled reason field"
    assert full_api.fault(full_api("PUT", "/os-services/disable", version="2.11",
                                   json={"host": "no-such-host", "binary": "nova-compute"}),
                          404) == "Could not find binary nova-compute on host no-such-host."
    msg = full_api.fault(full_api("PUT", "/os-services/disable", version="2.11",
                                  json={"host": host, "binary": "nova-scheduler"}), 400)
    assert msg.startswith("Updating a nova-scheduler service is not supported")
    assert "'binary' is a required property" in full_api.fault(
        full_api("PUT", "/os-services/disable", version="2.11", json={"host": host}), 400)
    # 2.53: by uuid
    compute = next(s for s in services(full_api) if s["host"] == host)
    scheduler = next(s for s in services(full_api) if s["binary"] == "nova-scheduler")
    assert full_api.fault(full_api("PUT", "/os-services/disable", json={"status": "disabled"}),
                          400) == "Invalid uuid disable"
    missing = str(uuid.uuid4())
    assert full_api.fault(full_api("PUT", f"/os-services/{missing}", json={"status": "disabled"}),
                          404) == f"Service {missing} could not be found."
    assert "not supported" in full_api.fault(
        full_api("PUT", f"/os-services/{scheduler['id']}", json={"status": "disabled"}), 400)
    assert full_api.fault(full_api("PUT", f"/os-services/{compute['id']}", json={}), 400).startswith(
        "No updates were requested")
    assert full_api.fault(full_api("PUT", f"/os-services/{compute['id']}",
                                   json={"status": "enabled", "disabled_reason": "x"}),
                          400) == "Specifying 'disabled_reason' with status 'enabled' is invalid."
    assert "is not one of" in full_api.fault(
        full_api("PUT", f"/os-services/{compute['id']}", json={"status": "off"}), 400)
    assert full_api.fault(full_api("PUT", f"/os-services/{compute['id']}", json={"forced_down": "maybe"}), 400)


def test_update_by_uuid_returns_the_service(full_api):
    svc = next(s for s in services(full_api) if s["binary"] == "nova-compute")
    try:
        r = full_api("PUT", f"/os-services/{svc['id']}", json={"status": "disabled", "disabled_reason": "x"})
        assert r.status_code == 200, r.text
        out = r.json()["service"]
        assert (out["id"], out["status"], out["disabled_reason"], out["forced_down"]) == (
            svc["id"], "disabled", "x", False)
    finally:
        r = full_api("PUT", f"/os-services/{svc['id']}", json={"status": "enabled"})
    assert r.json()["service"]["disabled_reason"] is None


def test_a_deleted_compute_service_comes_back_while_its_agent_runs(full_cloud, full_api):
    idle = [h["service"]["host"] for h in full_api("GET", "/os-hypervisors/detail?with_servers=true")
            .json()["hypervisors"] if not h["servers"]]
    if not idle:
        pytest.skip("every host runs servers: a compute service with servers cannot be deleted")
    host = idle[-1]
    svc = next(s for s in services(full_api) if s["host"] == host)
    rp = node_uuid(full_api, host)
    assert full_api.fault(full_api("DELETE", "/os-services/abc"), 400) == "Invalid uuid abc"
    assert full_api.fault(full_api("DELETE", "/os-services/abc", version="2.52"),
                          400) == "Invalid input received: id must be an integer"
    assert full_api.fault(full_api("DELETE", "/os-services/999999", version="2.52"),
                          404) == "Service 999999 not found."
    r = full_api("DELETE", f"/os-services/{svc['id']}")
    assert r.status_code == 204, r.text
    # Nova's warning holds: a running compute service registers itself again, and its provider.
    back = eventually(lambda: [s for s in services(full_api) if s["host"] == host])
    assert back and back[0]["id"] != svc["id"] and back[0]["state"] == "up"
    assert eventually(lambda: placement(full_cloud, f"/resource_providers/{rp}").status_code == 200)
    assert eventually(lambda: placement(full_cloud, f"/resource_providers/{rp}/inventories").json()
                      .get("inventories", {}).get("VCPU", {}).get("total") == 16)


@pytest.fixture(scope="module")
def full_member(full_cloud, tmp_path_factory):
    return make_member(full_cloud, tmp_path_factory.mktemp("hosts-member"))


@pytest.mark.parametrize("method,path", [("GET", "/os-services"), ("PUT", "/os-services/disable"),
                                         ("DELETE", "/os-services/1"), ("GET", "/os-hypervisors"),
                                         ("GET", "/os-hypervisors/statistics"), ("GET", "/os-aggregates"),
                                         ("GET", "/os-availability-zone/detail")])
def test_host_apis_are_admin_only(full_member, method, path):
    r = full_member.api(method, path, version="2.11", json={"host": "x", "binary": "nova-compute"})
    assert full_member.api.fault(r, 403)


def test_members_see_the_zones(full_member):
    r = full_member.api("GET", "/os-availability-zone")
    assert r.status_code == 200 and {"zoneName": "nova", "zoneState": {"available": True}, "hosts": None} in \
        r.json()["availabilityZoneInfo"]
