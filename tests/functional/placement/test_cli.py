"""Placement driven by the real `openstack` CLI (osc-placement) against `nubes up`."""

from __future__ import annotations

import uuid

import httpx


def _pv(version: str) -> tuple[str, str]:
    return ("--os-placement-api-version", version)


def test_version_discovery_and_headers(placement_cloud):
    r = httpx.get(placement_cloud.url("placement", "/"), timeout=10)
    assert r.status_code == 200
    v = r.json()["versions"][0]
    assert (v["id"], v["min_version"], v["max_version"], v["status"]) == ("v1.0", "1.0", "1.39", "CURRENT")
    token = placement_cloud.token()
    r = httpx.get(placement_cloud.url("placement", "/resource_providers"), timeout=10,
                  headers={"x-auth-token": token, "openstack-api-version": "placement 1.25"})
    assert r.headers["openstack-api-version"] == "placement 1.25"
    assert r.headers["vary"] == "openstack-api-version"
    r = httpx.get(placement_cloud.url("placement", "/resource_providers"), timeout=10,
                  headers={"x-auth-token": token, "openstack-api-version": "placement 1.99"})
    assert r.status_code == 406
    assert r.json()["errors"][0]["max_version"] == "1.39"
    r = httpx.get(placement_cloud.url("placement", "/resource_providers"), timeout=10)
    assert r.status_code == 401


def test_provider_lifecycle_with_the_cli(placement_cloud):
    osc = placement_cloud.osc
    name = f"cn-{uuid.uuid4().hex[:8]}"
    rp = osc("resource", "provider", "create", name)
    assert rp["name"] == name and rp["generation"] == 0
    assert name in {p["name"] for p in osc("resource", "provider", "list")}
    shown = osc("resource", "provider", "show", rp["uuid"])
    assert shown["uuid"] == rp["uuid"]

    inv = osc("resource", "provider", "inventory", "set", rp["uuid"], "--resource", "VCPU=8",
              "--resource", "MEMORY_MB=4096", "--resource", "DISK_GB=100",
              "--resource", "VCPU:allocation_ratio=2.0")
    assert {i["resource_class"]: i["total"] for i in inv} == {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100}
    listed = osc("resource", "provider", "inventory", "list", rp["uuid"])
    assert {i["resource_class"]: i["allocation_ratio"] for i in listed}["VCPU"] == 2.0

    osc("trait", "create", "CUSTOM_FAST_NIC", *_pv("1.6"), json_out=False)
    traits = osc("resource", "provider", "trait", "set", rp["uuid"], "--trait", "HW_CPU_X86_AVX",
                 "--trait", "CUSTOM_FAST_NIC", *_pv("1.6"))
    assert {t["name"] for t in traits} == {"HW_CPU_X86_AVX", "CUSTOM_FAST_NIC"}

    osc("resource", "class", "create", "CUSTOM_FPGA_X", *_pv("1.2"), json_out=False)
    assert "CUSTOM_FPGA_X" in {c["name"] for c in osc("resource", "class", "list", *_pv("1.2"))}

    agg = str(uuid.uuid4())
    gen = osc("resource", "provider", "show", rp["uuid"])["generation"]
    aggs = osc("resource", "provider", "aggregate", "set", rp["uuid"], "--aggregate", agg,
               "--generation", str(gen), *_pv("1.19"))
    assert [a["uuid"] for a in aggs] == [agg]

    cands = osc("allocation", "candidate", "list", "--resource", "VCPU=1", "--required", "HW_CPU_X86_AVX",
                *_pv("1.17"))
    assert rp["uuid"] in {c["resource provider"] for c in cands}
    cands = osc("allocation", "candidate", "list", "--resource", "VCPU=1", "--member-of", agg,
                "--required", "HW_CPU_X86_AVX2,CUSTOM_FAST_NIC", *_pv("1.39"))
    assert {c["resource provider"] for c in cands} == {rp["uuid"]}

    consumer, project, user = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    osc("resource", "provider", "allocation", "set", consumer, "--allocation",
        f"rp={rp['uuid']},VCPU=2,MEMORY_MB=512", "--project-id", project, "--user-id", user, *_pv("1.12"))
    shown = osc("resource", "provider", "allocation", "show", consumer, *_pv("1.12"))
    assert shown[0]["resource_provider"] == rp["uuid"]
    assert shown[0]["resources"] == {"VCPU": 2, "MEMORY_MB": 512}
    usage = osc("resource", "usage", "show", project, *_pv("1.9"))
    assert {u["resource_class"]: u["usage"] for u in usage} == {"VCPU": 2, "MEMORY_MB": 512}
    rp_usage = osc("resource", "provider", "usage", "show", rp["uuid"])
    assert {u["resource_class"]: u["usage"] for u in rp_usage}["VCPU"] == 2

    busy = osc("resource", "provider", "delete", rp["uuid"], check=False, json_out=False)
    assert busy.returncode != 0 and "has allocations" in busy.stderr
    osc("resource", "provider", "allocation", "delete", consumer, json_out=False)
    osc("resource", "provider", "delete", rp["uuid"], json_out=False)
    assert name not in {p["name"] for p in osc("resource", "provider", "list")}


def test_cli_errors_are_placement_errors(placement_cloud):
    osc = placement_cloud.osc
    bad = osc("resource", "provider", "show", str(uuid.uuid4()), check=False, json_out=False)
    assert bad.returncode != 0 and "No resource provider with uuid" in bad.stderr
    rp = osc("resource", "provider", "create", f"cn-{uuid.uuid4().hex[:8]}")
    bad = osc("resource", "provider", "inventory", "set", rp["uuid"], "--resource", "CUSTOM_NOPE=1",
              check=False, json_out=False)
    assert bad.returncode != 0 and "CUSTOM_NOPE" in bad.stderr
    dup = osc("resource", "provider", "create", rp["name"], check=False, json_out=False)
    assert dup.returncode != 0 and "409" in dup.stderr
