"""Hypervisors of a cloud of three fake hosts: the CLI's list, show and stats, the fields per
microversion, filters and paging, and placement's providers matching them."""

from __future__ import annotations

import json
import uuid

import pytest

from nubes.compute.conf import ComputeConfig
from tests.functional.compute.conftest import FAKE_HOSTS
from tests.functional.compute.test_services import placement

SIZES = ComputeConfig()
USAGE = {"vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used", "free_ram_mb",
         "free_disk_gb", "current_workload", "running_vms", "disk_available_least", "cpu_info"}


def hypervisors(api, path: str = "/os-hypervisors/detail", version: str = "2.96") -> list[dict]:
    r = api("GET", path, version=version)
    assert r.status_code == 200, r.text
    return r.json()["hypervisors"]


def test_cli_hypervisor_list_and_long_list(full_cloud):
    rows = full_cloud.osc("hypervisor", "list")
    assert len(rows) == FAKE_HOSTS
    assert all(r["Hypervisor Type"] == "fake" and r["State"] == "up" and r["Host IP"] == "127.0.0.1"
               for r in rows)
    long = full_cloud.osc("--os-compute-api-version", "2.87", "hypervisor", "list", "--long")
    assert {(r["vCPUs"], r["Memory MB"]) for r in long} == {(SIZES.fake_vcpus, SIZES.fake_memory_mb)}
    assert all(r["Memory MB Used"] >= SIZES.reserved_host_memory_mb for r in long)


def test_cli_hypervisor_show(full_cloud):
    name = full_cloud.osc("hypervisor", "list")[0]["Hypervisor Hostname"]
    hv = full_cloud.osc("hypervisor", "show", name)
    assert hv["hypervisor_hostname"] == name and hv["service_host"] == name and hv["state"] == "up"
    assert hv["hypervisor_type"] == "fake" and "uptime" in hv
    old = full_cloud.osc("--os-compute-api-version", "2.87", "hypervisor", "show", name)
    assert old["vcpus"] == SIZES.fake_vcpus and old["local_gb"] == SIZES.fake_disk_gb
    assert old["cpu_info"]["arch"] == "x86_64"
    assert old["users"] == "0" and old["load_average"].startswith("0.00")   # the uptime line parsed


def test_cli_hypervisor_stats(full_cloud):
    stats = full_cloud.osc("hypervisor", "stats", "show")
    assert stats["count"] == FAKE_HOSTS
    assert stats["vcpus"] == FAKE_HOSTS * SIZES.fake_vcpus
    assert stats["memory_mb"] == FAKE_HOSTS * SIZES.fake_memory_mb
    assert stats["local_gb"] == FAKE_HOSTS * SIZES.fake_disk_gb
    assert stats["free_ram_mb"] == stats["memory_mb"] - stats["memory_mb_used"]


def test_placement_has_a_provider_per_hypervisor(full_cloud, full_api):
    hvs = {h["id"]: h for h in hypervisors(full_api)}
    rps = full_cloud.osc("resource", "provider", "list")
    ours = [rp for rp in rps if rp["uuid"] in hvs]
    assert len(ours) == FAKE_HOSTS
    for rp in ours:
        assert rp["name"] == hvs[rp["uuid"]]["hypervisor_hostname"]
        inv = placement(full_cloud, f"/resource_providers/{rp['uuid']}/inventories").json()["inventories"]
        assert inv["VCPU"]["total"] == SIZES.fake_vcpus
        assert inv["VCPU"]["allocation_ratio"] == SIZES.cpu_allocation_ratio
        assert inv["MEMORY_MB"]["total"] == SIZES.fake_memory_mb
        assert inv["MEMORY_MB"]["reserved"] == SIZES.reserved_host_memory_mb
        assert inv["DISK_GB"]["total"] == SIZES.fake_disk_gb
    rows = full_cloud.osc("resource", "provider", "inventory", "list", ours[0]["uuid"])
    assert {r["resource_class"]: r["total"] for r in rows} == {
        "VCPU": SIZES.fake_vcpus, "MEMORY_MB": SIZES.fake_memory_mb, "DISK_GB": SIZES.fake_disk_gb}


def test_fields_per_microversion(full_api):
    v21 = hypervisors(full_api, version="2.1")
    assert all(isinstance(h["id"], int) and isinstance(h["service"]["id"], int) for h in v21)
    assert USAGE <= set(v21[0]) and isinstance(v21[0]["cpu_info"], str)
    assert json.loads(v21[0]["cpu_info"])["arch"] == "x86_64"
    assert v21[0]["vcpus"] == SIZES.fake_vcpus and v21[0]["memory_mb"] == SIZES.fake_memory_mb
    assert v21[0]["free_ram_mb"] == v21[0]["memory_mb"] - v21[0]["memory_mb_used"]
    assert "uptime" not in v21[0]
    assert isinstance(hypervisors(full_api, version="2.28")[0]["cpu_info"], dict)
    v253 = hypervisors(full_api, version="2.53")
    assert all(uuid.UUID(h["id"]) and uuid.UUID(h["service"]["id"]) for h in v253)
    v288 = hypervisors(full_api, version="2.88")
    assert not USAGE & set(v288[0]) and v288[0]["uptime"].lstrip()[:8].count(":") == 2
    brief = hypervisors(full_api, "/os-hypervisors")
    assert set(brief[0]) == {"id", "hypervisor_hostname", "state", "status"}


def test_show_and_its_errors(full_api):
    hv = hypervisors(full_api)[0]
    r = full_api("GET", f"/os-hypervisors/{hv['id']}")
    assert r.status_code == 200 and r.json()["hypervisor"]["hypervisor_hostname"] == hv["hypervisor_hostname"]
    assert full_api.fault(full_api("GET", "/os-hypervisors/1"), 400) == "Invalid uuid 1"
    missing = str(uuid.uuid4())
    assert full_api.fault(full_api("GET", f"/os-hypervisors/{missing}"),
                          404) == f"Hypervisor with ID '{missing}' could not be found."
    old = hypervisors(full_api, version="2.52")[0]
    r = full_api("GET", f"/os-hypervisors/{old['id']}", version="2.52")
    assert r.json()["hypervisor"]["id"] == old["id"]
    assert full_api.fault(full_api("GET", "/os-hypervisors/abc", version="2.52"),
                          404) == "Hypervisor with ID 'abc' could not be found."
    assert "Additional properties" in full_api.fault(full_api("GET", f"/os-hypervisors/{hv['id']}?x=1"), 400)


def test_with_servers_and_hostname_pattern(full_api):
    name = hypervisors(full_api)[0]["hypervisor_hostname"]
    (one,) = hypervisors(full_api, f"/os-hypervisors?hypervisor_hostname_pattern={name}&with_servers=1")
    assert one["hypervisor_hostname"] == name and isinstance(one["servers"], list)
    (before_275,) = hypervisors(full_api, f"/os-hypervisors?hypervisor_hostname_pattern={name}", "2.74")
    assert "servers" not in before_275
    assert len(hypervisors(full_api, f"/os-hypervisors/detail?hypervisor_hostname_pattern={name[:-1]}")) >= 1
    r = full_api("GET", "/os-hypervisors?hypervisor_hostname_pattern=nothing-like-it")
    assert full_api.fault(r, 404) == "No hypervisor matching 'nothing-like-it' could be found."
    r = full_api("GET", f"/os-hypervisors?hypervisor_hostname_pattern={name}&limit=1")
    assert "Paging over hypervisors" in full_api.fault(r, 400)
    assert "is not one of" in full_api.fault(full_api("GET", "/os-hypervisors?with_servers=maybe"), 400)
    # before 2.53 the search and servers routes do it
    found = hypervisors(full_api, f"/os-hypervisors/{name}/search", "2.52")
    assert [h["hypervisor_hostname"] for h in found] == [name]
    (with_servers,) = hypervisors(full_api, f"/os-hypervisors/{name}/servers", "2.52")
    assert with_servers["hypervisor_hostname"] == name and isinstance(with_servers.get("servers", []), list)
    assert full_api("GET", f"/os-hypervisors/{name}/search").status_code == 404


def test_paging(full_api):
    every = [h["id"] for h in hypervisors(full_api)]
    r = full_api("GET", "/os-hypervisors?limit=1")
    body = r.json()
    assert [h["id"] for h in body["hypervisors"]] == every[:1]
    assert f"marker={every[0]}" in body["hypervisors_links"][0]["href"]
    rest = hypervisors(full_api, f"/os-hypervisors/detail?marker={every[0]}")
    assert [h["id"] for h in rest] == every[1:]
    assert "hypervisors_links" not in full_api("GET", "/os-hypervisors").json()
    assert full_api.fault(full_api("GET", f"/os-hypervisors?marker={uuid.uuid4()}"), 400).startswith("marker [")
    assert full_api.fault(full_api("GET", "/os-hypervisors?limit=-1"), 400)
    assert len(hypervisors(full_api, "/os-hypervisors?limit=1", "2.32")) == FAKE_HOSTS    # no paging before 2.33


@pytest.mark.parametrize("version,status", [("2.1", 200), ("2.87", 200), ("2.88", 404)])
def test_statistics_and_uptime_are_gone_at_2_88(full_api, version, status):
    r = full_api("GET", "/os-hypervisors/statistics", version=version)
    assert r.status_code == status, r.text
    if status == 200:
        stats = r.json()["hypervisor_statistics"]
        assert stats["count"] == FAKE_HOSTS and stats["vcpus"] == FAKE_HOSTS * SIZES.fake_vcpus
    hv = hypervisors(full_api, version=version)[0]
    r = full_api("GET", f"/os-hypervisors/{hv['id']}/uptime", version=version)
    assert r.status_code == status, r.text
    if status == 200:
        assert " up " in r.json()["hypervisor"]["uptime"]
