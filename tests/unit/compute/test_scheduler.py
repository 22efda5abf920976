"""The scheduler's pure parts: what a flavor asks of placement, the filters' verdicts and
reasons, the weighers' order, and the words of a no-valid-host fault."""

from __future__ import annotations

from nubes.compute.scheduler import explain, filters, weighers
from nubes.compute.scheduler.hosts import HostState
from nubes.compute.scheduler.placement import Candidate, ProviderReport, query
from nubes.compute.scheduler.spec import GroupSpec, RequestSpec, parse_zone, resources_of

FLAVOR = {"vcpus": 2, "memory_mb": 4096, "root_gb": 10, "ephemeral_gb": 5, "swap": 1536, "extra_specs": {}}


def _spec(**kw) -> RequestSpec:
    return RequestSpec(instance_id="i", project_id="p", user_id="u",
                       resources={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 17}, **kw)


def _host(name: str, *, free_ram: int = 8192, **kw) -> HostState:
    cand = Candidate(f"uuid-{name}", {f"uuid-{name}": {"resources": {}}},
                     {"MEMORY_MB": 16384, "VCPU": 16, "DISK_GB": 100}, {"MEMORY_MB": 16384 - free_ram})
    base = {"service_known": True, "up": True, "zones": {"nova"}}
    base.update(kw)
    return HostState(uuid=f"uuid-{name}", host=name, node=name, candidate=cand, **base)


def test_resources_from_flavor_and_extra_specs():
    res, req, forb = resources_of(FLAVOR)
    assert res == {"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 17} and req == forb == []
    specs = {"resources:VCPU": "0", "resources:PCPU": "2", "resources:CUSTOM_GPU": "1",
             "trait:HW_CPU_X86_AVX2": "required", "trait:COMPUTE_STATUS_DISABLED": "forbidden",
             "hw:cpu_policy": "dedicated"}
    res, req, forb = resources_of({**FLAVOR, "extra_specs": specs}, volume_backed=True)
    assert res == {"PCPU": 2, "CUSTOM_GPU": 1, "MEMORY_MB": 4096, "DISK_GB": 7}
    assert req == ["HW_CPU_X86_AVX2"] and forb == ["COMPUTE_STATUS_DISABLED"]
    q = query(_spec(required_traits=req, forbidden_traits=forb), 50)
    assert "resources=DISK_GB%3A17%2CMEMORY_MB%3A4096%2CVCPU%3A2" in q
    assert "required=HW_CPU_X86_AVX2%2C%21COMPUTE_STATUS_DISABLED" in q and "limit=50" in q


def test_zone_forms():
    assert parse_zone("az1") == ("az1", None, None)
    assert parse_zone("az1:h1") == ("az1", "h1", None)
    assert parse_zone("az1::n1") == ("az1", None, "n1")
    assert parse_zone(":h1:n1") == (None, "h1", "n1")
    assert parse_zone(None) == (None, None, None)


def test_compute_filter_reasons():
    assert filters.compute_filter(_host("a"), _spec()) is None
    r = filters.compute_filter(_host("a", disabled=True, disabled_reason="maintenance"), _spec())
    assert r.one == "was disabled (maintenance)" and r.many == "were disabled (maintenance)"
    r = filters.compute_filter(_host("a", up=False, silent_for=75.4), _spec())
    assert r.one == "was down (no heartbeat for 75 s)"
    assert filters.compute_filter(_host("a", forced_down=True), _spec()).key == "forced-down"
    assert filters.compute_filter(_host("a", service_known=False), _spec()).key == "no-service"


def test_zone_image_and_aggregate_filters():
    assert filters.availability_zone_filter(_host("a"), _spec(availability_zone="nova")) is None
    assert "availability zone az9" in filters.availability_zone_filter(_host("a"), _spec(availability_zone="az9")).one
    arm = _spec(image_properties={"hw_architecture": "aarch64"})
    assert filters.image_properties_filter(_host("a", arch="x86_64"), arm).key == "arch:aarch64"
    assert filters.image_properties_filter(_host("a", arch="arm64"), arm) is None
    assert filters.image_properties_filter(_host("a"), _spec(image_properties={"img_hv_type": "kvm"})).key == "hv:kvm"
    assert filters.image_properties_filter(
        _host("a", hypervisor_version=2000000), _spec(image_properties={"img_hv_requested_version": ">=1.5"})) is None
    specs = _spec(extra_specs={"aggregate_instance_extra_specs:ssd": "true", "hw:cpu_policy": "dedicated"})
    assert filters.aggregate_extra_specs_filter(_host("a", aggregates=[{"ssd": "true"}]), specs) is None
    r = filters.aggregate_extra_specs_filter(_host("a", aggregates=[{"ssd": "false"}]), specs)
    assert r.one == "is in no aggregate with ssd=true"
    assert filters.match("4", ">= 2") and not filters.match("1", ">= 2") and filters.match("b", "<or> a <or> b")
    assert filters.match("abc", "<in> b") and filters.match("x", "s== x") and filters.match("8", "= 4")


def test_group_filters():
    g = GroupSpec("g1", "web", "anti-affinity", {}, ["a"])
    assert filters.anti_affinity_filter(_host("a"), _spec(group=g)).one == (
        "already hosts a member of server group web (anti-affinity)")
    assert filters.anti_affinity_filter(_host("b"), _spec(group=g)) is None
    two = GroupSpec("g1", "web", "anti-affinity", {"max_server_per_host": 2}, ["a"])
    assert filters.anti_affinity_filter(_host("a"), _spec(group=two)) is None
    aff = GroupSpec("g2", "db", "affinity", {}, ["a", "a"])
    assert filters.affinity_filter(_host("a"), _spec(group=aff)) is None
    assert "where server group db runs" in filters.affinity_filter(_host("b"), _spec(group=aff)).one
    assert filters.affinity_filter(_host("b"), _spec(group=GroupSpec("g3", "new", "affinity", {}, []))) is None
    assert filters.retry_filter(_host("a"), _spec(ignore_hosts=["a"])).key == "tried"


def test_weighers_spread_pack_and_soft_groups():
    hosts = [_host("a", free_ram=2048), _host("b", free_ram=8192), _host("c", free_ram=4096)]
    assert [h.host for h in weighers.order(hosts, _spec(), "spread")] == ["b", "c", "a"]
    assert [h.host for h in weighers.order(hosts, _spec(), "pack")] == ["a", "c", "b"]
    soft = _spec(group=GroupSpec("g", "g", "soft-affinity", {}, ["a"]))
    assert weighers.order(hosts, soft, "spread")[0].host == "a"
    anti = _spec(group=GroupSpec("g", "g", "soft-anti-affinity", {}, ["b"]))
    assert weighers.order(hosts, anti, "spread")[0].host == "c"
    assert len(weighers.order(hosts, _spec(), "spread", subset_size=2)) == 3


def _report(free_ram: int, **kw) -> ProviderReport:
    inv = {"MEMORY_MB": {"total": 16384, "reserved": 0, "allocation_ratio": 1.0, "max_unit": 16384},
           "VCPU": {"total": 4, "reserved": 0, "allocation_ratio": 4.0, "max_unit": 4},
           "DISK_GB": {"total": 100, "reserved": 0, "allocation_ratio": 1.0, "max_unit": 100}}
    return ProviderReport("u", True, inv, {"MEMORY_MB": 16384 - free_ram, "VCPU": 0, "DISK_GB": 0}, **kw)


def test_explanations_count_reasons():
    spec = _spec()
    shortfalls = [explain.shortfall(_report(1024), spec), explain.shortfall(_report(2048), spec),
                  explain.shortfall(_report(512), spec)]
    e = explain.Explanation()
    e.add_shortfalls(shortfalls)
    e.add_rejections([filters.Rejection("disabled:maintenance", "was disabled (maintenance)",
                                        "were disabled (maintenance)")])
    assert e.text() == ("3 hosts lacked 4096 MB RAM (have at most 2048 MB free), 1 was disabled (maintenance).")
    one = explain.Explanation()
    one.add_shortfalls([explain.shortfall(_report(1024), spec)])
    assert one.text() == "1 host lacked 4096 MB RAM (has 1024 MB free)."
    big = _spec()
    big.resources = {"VCPU": 8, "MEMORY_MB": 512}
    assert explain.shortfall(_report(8192), big).key == "maxunit:VCPU"
    assert explain.shortfall(ProviderReport("x", exists=False), spec).key == "missing"
    traits = _spec(required_traits=["CUSTOM_SSD"])
    assert explain.shortfall(_report(8192), traits).text == ("lacked trait CUSTOM_SSD", "lacked trait CUSTOM_SSD")
    assert explain.Explanation().text() == "There are not enough hosts available."
