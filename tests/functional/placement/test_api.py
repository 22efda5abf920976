"""Placement's HTTP API in-process (SQLite): microversions, wire formats, errors and their codes."""

from __future__ import annotations

import uuid

import pytest

from tests.functional.placement.inprocess import client, make_app

INV = {"VCPU": {"total": 8, "max_unit": 8}, "MEMORY_MB": {"total": 4096}, "DISK_GB": {"total": 100}}


@pytest.fixture
async def api(tmp_path):
    app, rt = await make_app(tmp_path)
    yield app
    await rt.db.close()


async def _provider(c, name=None, parent=None, inventories=INV, traits=(), aggs=()):
    body = {"name": name or f"rp-{uuid.uuid4().hex[:8]}"}
    if parent:
        body["parent_provider_uuid"] = parent
    r = await c.post("/resource_providers", json=body)
    assert r.status_code in (200, 201), r.text
    rp = r.headers["location"].rsplit("/", 1)[1]
    gen = 0
    if inventories:
        r = await c.put(f"/resource_providers/{rp}/inventories",
                        json={"resource_provider_generation": gen, "inventories": inventories})
        assert r.status_code == 200, r.text
        gen = r.json()["resource_provider_generation"]
    if traits:
        r = await c.put(f"/resource_providers/{rp}/traits",
                        json={"resource_provider_generation": gen, "traits": list(traits)})
        assert r.status_code == 200, r.text
        gen = r.json()["resource_provider_generation"]
    if aggs:
        r = await c.put(f"/resource_providers/{rp}/aggregates",
                        json={"resource_provider_generation": gen, "aggregates": list(aggs)})
        assert r.status_code == 200, r.text
    return rp


def _err(r, status, code=None):
    assert r.status_code == status, r.text
    e = r.json()["errors"][0]
    assert e["status"] == status and e["request_id"].startswith("req-")
    if code:
        assert e["code"] == code, e
    return e["detail"]


async def test_microversion_negotiation(api):
    async with client(api, version=None) as c:
        r = await c.get("/resource_providers")
        assert r.headers["openstack-api-version"] == "placement 1.0"
        r = await c.get("/resource_providers", headers={"openstack-api-version": "placement latest"})
        assert r.headers["openstack-api-version"] == "placement 1.39"
        assert "vary" in r.headers
        _err(await c.get("/", headers={"openstack-api-version": "placement 1.40"}), 406)
        _err(await c.get("/resource_providers", headers={"openstack-api-version": "placement 2.0"}), 406)
        _err(await c.get("/resource_providers", headers={"openstack-api-version": "placement one"}), 400)
        # routes that do not exist yet at the version asked for are 404
        _err(await c.get("/traits", headers={"openstack-api-version": "placement 1.5"}), 404)
        _err(await c.get("/allocation_candidates?resources=VCPU:1"), 404)


async def test_provider_formats_by_version(api):
    async with client(api, "1.13") as c:
        r = await c.post("/resource_providers", json={"name": "old"})
        assert r.status_code == 201 and r.content == b""
        assert r.headers["location"].startswith("/resource_providers/")
        r = await c.get(r.headers["location"])
        assert "root_provider_uuid" not in r.json()
        assert "last-modified" not in r.headers
    async with client(api, "1.20") as c:
        r = await c.post("/resource_providers", json={"name": "new"})
        assert r.status_code == 200 and r.json()["root_provider_uuid"] == r.json()["uuid"]
        assert r.headers["location"].endswith(r.json()["uuid"])
        r = await c.get("/resource_providers")
        assert r.headers["cache-control"] == "no-cache" and "last-modified" in r.headers
        _err(await c.post("/resource_providers", json={"name": "new"}), 409, "placement.duplicate_name")
        _err(await c.post("/resource_providers", json={"name": "x", "bogus": 1}), 400)
        _err(await c.post("/resource_providers", json={"name": "x", "uuid": "nope"}), 400)


async def test_nested_providers_and_reparenting(api):
    async with client(api, "1.36") as c:
        root = await _provider(c, "root")
        child = await _provider(c, "child", parent=root)
        r = await c.get(f"/resource_providers/{child}")
        assert r.json()["parent_provider_uuid"] == root and r.json()["root_provider_uuid"] == root
        r = await c.get(f"/resource_providers?in_tree={child}")
        assert {p["uuid"] for p in r.json()["resource_providers"]} == {root, child}
        _err(await c.delete(f"/resource_providers/{root}"), 409,
             "placement.resource_provider.cannot_delete_parent")
        other = await _provider(c, "other")
        detail = _err(await c.put(f"/resource_providers/{child}",
                                  json={"name": "child", "parent_provider_uuid": other}), 400)
        assert "re-parenting a provider is not currently allowed" in detail
    async with client(api, "1.37") as c:
        r = await c.put(f"/resource_providers/{child}", json={"name": "child", "parent_provider_uuid": other})
        assert r.status_code == 200 and r.json()["root_provider_uuid"] == other
        detail = _err(await c.put(f"/resource_providers/{other}",
                                  json={"name": "other", "parent_provider_uuid": child}), 400)
        assert "loop" in detail
        r = await c.put(f"/resource_providers/{child}", json={"name": "child", "parent_provider_uuid": None})
        assert r.json()["root_provider_uuid"] == child


async def test_inventories_generations_and_usage_protection(api):
    async with client(api) as c:
        rp = await _provider(c)
        r = await c.get(f"/resource_providers/{rp}/inventories")
        assert r.json()["resource_provider_generation"] == 1
        assert r.json()["inventories"]["VCPU"] == {"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 8,
                                                   "step_size": 1, "allocation_ratio": 1.0}
        _err(await c.put(f"/resource_providers/{rp}/inventories",
                         json={"resource_provider_generation": 0, "inventories": INV}),
             409, "placement.concurrent_update")
        _err(await c.put(f"/resource_providers/{rp}/inventories",
                         json={"resource_provider_generation": 1,
                               "inventories": {"NOPE": {"total": 1}}}), 400)
        _err(await c.put(f"/resource_providers/{rp}/inventories",
                         json={"resource_provider_generation": 1,
                               "inventories": {"VCPU": {"total": 4, "reserved": 5}}}), 400)
        r = await c.put(f"/resource_providers/{rp}/inventories/VCPU",
                        json={"resource_provider_generation": 1, "total": 16, "max_unit": 16})
        assert r.status_code == 200 and r.json()["total"] == 16
        assert r.json()["resource_provider_generation"] == 2
        consumer = str(uuid.uuid4())
        r = await c.put(f"/allocations/{consumer}", json={
            "allocations": {rp: {"resources": {"VCPU": 10, "DISK_GB": 10}}},
            "project_id": "p", "user_id": "u",
            "consumer_generation": None, "consumer_type": "INSTANCE"})
        assert r.status_code == 204, r.text
        _err(await c.put(f"/resource_providers/{rp}/inventories/VCPU",
                         json={"resource_provider_generation": 3, "total": 9}),
             409, "placement.inventory.inuse")
        _err(await c.delete(f"/resource_providers/{rp}/inventories/DISK_GB"),
             409, "placement.inventory.inuse")
        _err(await c.delete(f"/resource_providers/{rp}/inventories"), 409, "placement.inventory.inuse")
        r = await c.delete(f"/resource_providers/{rp}/inventories/MEMORY_MB")
        assert r.status_code == 204
        r = await c.post(f"/resource_providers/{rp}/inventories", json={
            "resource_class": "MEMORY_MB", "total": 2048, "resource_provider_generation": 4})
        assert r.status_code == 201 and r.headers["location"].endswith("/inventories/MEMORY_MB")


async def test_resource_classes_and_traits(api):
    async with client(api) as c:
        names = {rc["name"] for rc in (await c.get("/resource_classes")).json()["resource_classes"]}
        assert {"VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF", "NUMA_CORE", "IPV4_ADDRESS",
                "VGPU", "PCPU"} <= names
        assert (await c.put("/resource_classes/CUSTOM_GOLD")).status_code == 201
        assert (await c.put("/resource_classes/CUSTOM_GOLD")).status_code == 204
        _err(await c.post("/resource_classes", json={"name": "CUSTOM_GOLD"}), 409, "placement.duplicate_name")
        _err(await c.post("/resource_classes", json={"name": "GOLD"}), 400)
        _err(await c.delete("/resource_classes/VCPU"), 400)
        assert (await c.get("/resource_classes/CUSTOM_GOLD")).json()["name"] == "CUSTOM_GOLD"
        assert (await c.delete("/resource_classes/CUSTOM_GOLD")).status_code == 204
        _err(await c.get("/resource_classes/CUSTOM_GOLD"), 404)

        traits = (await c.get("/traits")).json()["traits"]
        for t in ("HW_CPU_X86_AVX2", "COMPUTE_VOLUME_MULTI_ATTACH", "STORAGE_DISK_SSD", "HW_NIC_SRIOV",
                  "MISC_SHARES_VIA_AGGREGATE"):
            assert t in traits
        assert (await c.put("/traits/CUSTOM_X")).status_code == 201
        assert (await c.put("/traits/CUSTOM_X")).status_code == 204
        _err(await c.put("/traits/NOT_CUSTOM"), 400)
        _err(await c.delete("/traits/HW_CPU_X86_AVX2"), 400)
        r = await c.get("/traits?name=startswith:CUSTOM_")
        assert r.json()["traits"] == ["CUSTOM_X"]
        rp = await _provider(c, traits=["CUSTOM_X"])
        assert (await c.get("/traits?associated=true")).json()["traits"] == ["CUSTOM_X"]
        _err(await c.delete("/traits/CUSTOM_X"), 409)
        _err(await c.put(f"/resource_providers/{rp}/traits",
                         json={"resource_provider_generation": 2, "traits": ["CUSTOM_UNKNOWN"]}), 400)


async def test_allocation_formats_consumers_and_moves(api):
    async with client(api, "1.11") as c:
        rp = await _provider(c)
        consumer = str(uuid.uuid4())
        r = await c.put(f"/allocations/{consumer}", json={
            "allocations": [{"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}}],
            "project_id": "p", "user_id": "u"})
        assert r.status_code == 204, r.text
        r = await c.get(f"/allocations/{consumer}")
        assert r.json() == {"allocations": {rp: {"generation": 2, "resources": {"VCPU": 1}}}}
    async with client(api, "1.28") as c:
        body = r.json()
        r = await c.get(f"/allocations/{consumer}")
        assert r.json()["consumer_generation"] == 1 and r.json()["project_id"] == "p"
        stale = {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
                 "consumer_generation": None}
        _err(await c.put(f"/allocations/{consumer}", json=stale), 409, "placement.concurrent_update")
        stale["consumer_generation"] = 1
        assert (await c.put(f"/allocations/{consumer}", json=stale)).status_code == 204
        # a move: the migration record takes the source, the instance the destination
        dest = await _provider(c)
        migration = str(uuid.uuid4())
        r = await c.post("/allocations", json={
            migration: {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
                        "consumer_generation": None},
            consumer: {"allocations": {dest: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
                       "consumer_generation": 2}})
        assert r.status_code == 204, r.text
        assert set((await c.get(f"/allocations/{consumer}")).json()["allocations"]) == {dest}
        assert (await c.get(f"/resource_providers/{rp}/allocations")).json()["allocations"] == {
            migration: {"resources": {"VCPU": 2}}}
        r = await c.post("/allocations", json={migration: {"allocations": {}, "project_id": "p",
                                                           "user_id": "u",
                                                           "consumer_generation": 1}})
        assert r.status_code == 204, r.text
        assert (await c.get(f"/allocations/{migration}")).json() == {"allocations": {}}
        assert body


async def test_allocation_errors(api):
    async with client(api) as c:
        rp = await _provider(c, inventories={"VCPU": {"total": 4, "max_unit": 2, "step_size": 1}})

        def body(resources, gen=None, rp_uuid=rp):
            return {"allocations": {rp_uuid: {"resources": resources}}, "project_id": "p", "user_id": "u",
                    "consumer_generation": gen, "consumer_type": "INSTANCE"}

        consumer = str(uuid.uuid4())
        assert "violate inventory constraints" in _err(await c.put(f"/allocations/{consumer}",
                                                                   json=body({"VCPU": 3})), 400)
        assert "invalid" in _err(await c.put(f"/allocations/{consumer}", json=body({"DISK_GB": 1})), 409)
        _err(await c.put(f"/allocations/{consumer}", json=body({"CUSTOM_NONE": 1})), 400)
        assert "does not exist" in _err(await c.put(f"/allocations/{consumer}",
                                                    json=body({"VCPU": 1}, rp_uuid=str(uuid.uuid4()))), 400)
        _err(await c.put(f"/allocations/{consumer}", json=body({"VCPU": 0})), 400)
        _err(await c.put(f"/allocations/{consumer}", json={"allocations": {}}), 400)
        _err(await c.put(f"/allocations/{consumer}", json={"allocations": {}, "project_id": "p",
                                                           "user_id": "u"},
                         headers={"openstack-api-version": "placement 1.27"}), 400)
        _err(await c.put("/allocations/not-a-uuid", json=body({"VCPU": 1})), 400)
        for _ in range(2):
            assert (await c.put(f"/allocations/{uuid.uuid4()}", json=body({"VCPU": 2}))).status_code == 204
        full = await c.put(f"/allocations/{consumer}", json=body({"VCPU": 1}))
        assert "exceed the capacity" in _err(full, 409)
        # from 1.28 an empty PUT removes a consumer's allocations
        assert (await c.put(f"/allocations/{consumer}", json=body({"VCPU": 1}, gen=None) | {
            "allocations": {}})).status_code == 204
        _err(await c.delete(f"/allocations/{consumer}"), 404)


async def test_usages_by_project_user_and_type(api):
    async with client(api) as c:
        rp = await _provider(c)
        for ctype, user in (("INSTANCE", "u1"), ("INSTANCE", "u2"), ("MIGRATION", "u1")):
            r = await c.put(f"/allocations/{uuid.uuid4()}", json={
                "allocations": {rp: {"resources": {"VCPU": 1, "MEMORY_MB": 128}}}, "project_id": "p",
                "user_id": user, "consumer_generation": None, "consumer_type": ctype})
            assert r.status_code == 204, r.text
        r = await c.get("/usages?project_id=p")
        assert r.json()["usages"] == {"INSTANCE": {"consumer_count": 2, "VCPU": 2, "MEMORY_MB": 256},
                                      "MIGRATION": {"consumer_count": 1, "VCPU": 1, "MEMORY_MB": 128}}
        r = await c.get("/usages?project_id=p&user_id=u1&consumer_type=INSTANCE")
        assert r.json()["usages"] == {"INSTANCE": {"consumer_count": 1, "VCPU": 1, "MEMORY_MB": 128}}
        r = await c.get("/usages?project_id=p&consumer_type=all")
        assert r.json()["usages"] == {"all": {"consumer_count": 3, "VCPU": 3, "MEMORY_MB": 384}}
        _err(await c.get("/usages"), 400)
    async with client(api, "1.9") as c:
        assert (await c.get("/usages?project_id=p")).json()["usages"] == {"VCPU": 3, "MEMORY_MB": 384}
        assert (await c.get(f"/resource_providers/{rp}/usages")).json()["usages"] == {
            "DISK_GB": 0, "MEMORY_MB": 384, "VCPU": 3}


async def test_candidate_formats_by_version(api):
    agg = str(uuid.uuid4())
    async with client(api) as c:
        rp = await _provider(c, traits=["HW_CPU_X86_AVX2"], aggs=[agg])
        await _provider(c)
    q = "/allocation_candidates?resources=VCPU:1,MEMORY_MB:64&limit=5"
    async with client(api, "1.10") as c:
        r = (await c.get("/allocation_candidates?resources=VCPU:1,MEMORY_MB:64")).json()
        assert len(r["allocation_requests"]) == 2
        ar = r["allocation_requests"][0]["allocations"][0]
        assert set(ar) == {"resource_provider", "resources"}
        summary = next(iter(r["provider_summaries"].values()))
        assert set(summary) == {"resources"} and set(summary["resources"]) == {"VCPU", "MEMORY_MB"}
    async with client(api, "1.17") as c:
        r = (await c.get(q + "&required=HW_CPU_X86_AVX2")).json()
        assert list(r["allocation_requests"][0]["allocations"]) == [rp]
        assert r["provider_summaries"][rp]["traits"] == ["HW_CPU_X86_AVX2"]
    async with client(api, "1.27") as c:
        r = (await c.get(q + f"&member_of={agg}")).json()
        assert set(r["provider_summaries"][rp]["resources"]) == {"VCPU", "MEMORY_MB", "DISK_GB"}
        assert "mappings" not in r["allocation_requests"][0]
    async with client(api, "1.34") as c:
        r = (await c.get(q + f"&member_of={agg}")).json()
        assert r["allocation_requests"][0]["mappings"] == {"": [rp]}
        assert r["provider_summaries"][rp]["root_provider_uuid"] == rp
        r = (await c.get(q + "&required=!HW_CPU_X86_AVX2")).json()
        assert rp not in r["provider_summaries"] and len(r["allocation_requests"]) == 1


async def test_candidate_query_errors(api):
    async with client(api) as c:
        await _provider(c)
        cases = [
            ("resources=VCPU", "Badly formed resources parameter"),
            ("resources=VCPU:0", "requires amount >= 1"),
            ("resources=VCPU:1&limit=0", "does not match"),
            ("resources=VCPU:1&bogus=1", "Additional properties are not allowed"),
            ("resources=VCPU:1&member_of=nope", "valid UUID"),
            ("resources=VCPU:1&required=", "Got an empty trait"),
            ("resources=VCPU:1&required=HW_CPU_X86_AVX2,!HW_CPU_X86_AVX2",
             "Conflicting required and forbidden"),
            ("resources=VCPU:1&required=NOT_A_TRAIT", "No such trait(s): NOT_A_TRAIT"),
            ("resources=VCPU:1&group_policy=all", "is not one of"),
            ("resources1=VCPU:1&resources2=VCPU:1", 'The "group_policy" parameter is required'),
            ("resources=VCPU:1&in_tree=nope", "in_tree"),
            ("resources=VCPU:1&root_required=A&root_required=B", "may be specified only once"),
            ("resources=VCPU:1&required_X=CUSTOM_A", "Resourceless suffixed group request"),
            ("resources=VCPU:1&resources_A=VCPU:1&same_subtree=_A,_B&group_policy=none", "Real suffixes"),
            ("required_A=HW_CPU_X86_AVX2&same_subtree=_A", "There must be at least one resources"),
        ]
        for qs, message in cases:
            r = await c.get(f"/allocation_candidates?{qs}")
            assert r.status_code == 400, (qs, r.text)
            assert message in r.json()["errors"][0]["detail"], (qs, r.text)
        codes = {
            "resources=VCPU:1&root_required=A&root_required=B": "placement.query.duplicate_key",
            "required_A=HW_CPU_X86_AVX2&same_subtree=_A": "placement.query.missing_value",
            "resources=VCPU:1&required_X=CUSTOM_A": "placement.query.bad_value",
        }
        for qs, code in codes.items():
            assert (await c.get(f"/allocation_candidates?{qs}")).json()["errors"][0]["code"] == code
    async with client(api, "1.32") as c:
        r = await c.get("/allocation_candidates?resources_A=VCPU:1")
        assert r.status_code == 400   # string suffixes come in 1.33


async def test_nested_candidates_over_http(api):
    async with client(api, "1.36") as c:
        for t in ("CUSTOM_PHYSNET_A", "CUSTOM_PHYSNET_B"):
            assert (await c.put(f"/traits/{t}")).status_code == 201
        cn = await _provider(c, "cn", inventories={"VCPU": {"total": 8}, "MEMORY_MB": {"total": 2048}})
        pf1 = await _provider(c, "pf1", parent=cn, inventories={"SRIOV_NET_VF": {"total": 4}},
                              traits=["CUSTOM_PHYSNET_A"])
        pf2 = await _provider(c, "pf2", parent=cn, inventories={"SRIOV_NET_VF": {"total": 4}},
                              traits=["CUSTOM_PHYSNET_B"])
        r = (await c.get("/allocation_candidates?resources=VCPU:1&resources_NET=SRIOV_NET_VF:1"
                         "&required_NET=CUSTOM_PHYSNET_B&group_policy=isolate")).json()
        assert r["allocation_requests"] == [{"allocations": {cn: {"resources": {"VCPU": 1}},
                                                             pf2: {"resources": {"SRIOV_NET_VF": 1}}},
                                             "mappings": {"": [cn], "_NET": [pf2]}}]
        assert set(r["provider_summaries"]) == {cn, pf1, pf2}
        assert r["provider_summaries"][pf1]["parent_provider_uuid"] == cn
    async with client(api, "1.28") as c:
        r = (await c.get("/allocation_candidates?resources=VCPU:1,SRIOV_NET_VF:1")).json()
        assert r["allocation_requests"] == []


async def test_sharing_provider_over_http(api):
    agg = str(uuid.uuid4())
    async with client(api) as c:
        cn = await _provider(c, "cn", inventories={"VCPU": {"total": 8}}, aggs=[agg])
        nfs = await _provider(c, "nfs", inventories={"DISK_GB": {"total": 500}},
                              traits=["MISC_SHARES_VIA_AGGREGATE"], aggs=[agg])
        r = (await c.get("/allocation_candidates?resources=VCPU:1,DISK_GB:50")).json()
        assert r["allocation_requests"] == [{"allocations": {cn: {"resources": {"VCPU": 1}},
                                                             nfs: {"resources": {"DISK_GB": 50}}},
                                             "mappings": {"": sorted([cn, nfs])}}]


async def test_reshaper_moves_inventory_and_allocations_atomically(api):
    async with client(api) as c:
        cn = await _provider(c, "cn", inventories={"VCPU": {"total": 8}, "VGPU": {"total": 2}})
        consumer = str(uuid.uuid4())
        r = await c.put(f"/allocations/{consumer}", json={
            "allocations": {cn: {"resources": {"VCPU": 1, "VGPU": 1}}}, "project_id": "p", "user_id": "u",
            "consumer_generation": None, "consumer_type": "INSTANCE"})
        assert r.status_code == 204
        gpu = await _provider(c, "gpu", parent=cn, inventories={})
        cn_gen = (await c.get(f"/resource_providers/{cn}")).json()["generation"]
        body = {
            "inventories": {
                cn: {"resource_provider_generation": cn_gen, "inventories": {"VCPU": {"total": 8}}},
                gpu: {"resource_provider_generation": 0, "inventories": {"VGPU": {"total": 2}}}},
            "allocations": {consumer: {
                "allocations": {cn: {"resources": {"VCPU": 1}}, gpu: {"resources": {"VGPU": 1}}},
                "project_id": "p", "user_id": "u", "consumer_generation": 1, "consumer_type": "INSTANCE"}}}
        r = await c.post("/reshaper", json=body)
        assert r.status_code == 204, r.text
        allocs = (await c.get(f"/allocations/{consumer}")).json()["allocations"]
        assert allocs[gpu]["resources"] == {"VGPU": 1} and allocs[cn]["resources"] == {"VCPU": 1}
        # a stale generation changes nothing
        _err(await c.post("/reshaper", json=body), 409, "placement.concurrent_update")
    async with client(api, "1.29") as c:
        _err(await c.post("/reshaper", json=body), 404)


async def test_policy_denies_non_admins(api):
    async with client(api, token="reader") as c:
        r = await c.get("/resource_providers")
        assert r.status_code == 403 and r.json()["errors"][0]["title"] == "Forbidden"
