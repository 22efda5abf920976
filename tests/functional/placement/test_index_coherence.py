"""Two API processes on one database: each one's in-memory index follows the other's writes."""

from __future__ import annotations

import uuid

from tests.functional.placement.inprocess import client, make_app


async def test_second_process_sees_every_write(tmp_path):
    app_a, rt_a = await make_app(tmp_path)
    app_b, rt_b = await make_app(tmp_path)     # same SQLite file, its own index
    try:
        async with client(app_a) as a, client(app_b) as b:
            q = "/allocation_candidates?resources=VCPU:2&required=CUSTOM_GOLD"
            assert (await a.put("/traits/CUSTOM_GOLD")).status_code == 201
            assert (await b.get(q)).json()["allocation_requests"] == []    # b loads its index now
            rp = (await a.post("/resource_providers", json={"name": "cn"})).json()["uuid"]
            r = await a.put(f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 3}}})
            assert r.status_code == 200
            await a.put(f"/resource_providers/{rp}/traits",
                        json={"resource_provider_generation": 1, "traits": ["CUSTOM_GOLD"]})
            r = (await b.get(q)).json()
            assert list(r["allocation_requests"][0]["allocations"]) == [rp]
            assert r["provider_summaries"][rp]["resources"]["VCPU"] == {"capacity": 3, "used": 0}
            consumer = str(uuid.uuid4())
            r = await a.put(f"/allocations/{consumer}", json={
                "allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
                "consumer_generation": None, "consumer_type": "INSTANCE"})
            assert r.status_code == 204
            assert (await b.get(q)).json()["allocation_requests"] == []     # only 1 VCPU left
            r = (await b.get("/allocation_candidates?resources=VCPU:1")).json()
            assert r["provider_summaries"][rp]["resources"]["VCPU"]["used"] == 2
            assert (await b.delete(f"/allocations/{consumer}")).status_code == 204
            assert len((await a.get(q)).json()["allocation_requests"]) == 1
            # a renamed class and a deleted provider are seen too
            assert (await a.delete(f"/resource_providers/{rp}")).status_code == 204
            assert (await b.get("/resource_providers")).json()["resource_providers"] == []
            assert (await b.get(q)).json()["allocation_requests"] == []
    finally:
        await rt_a.db.close()
        await rt_b.db.close()


async def test_index_reloads_when_the_change_log_was_pruned(tmp_path):
    app, rt = await make_app(tmp_path, change_log_horizon=5)
    try:
        async with client(app) as c:
            assert (await c.get("/resource_providers")).json()["resource_providers"] == []
            for i in range(1200):   # pruning runs every 1000 changes
                if i < 3:
                    r = await c.post("/resource_providers", json={"name": f"rp{i}"})
                else:
                    r = await c.put(f"/traits/CUSTOM_T{i}")
                assert r.status_code in (200, 201)
            ix = rt.extra["placement"].index
            assert ix.seq < 1000
            names = {p["name"] for p in (await c.get("/resource_providers")).json()["resource_providers"]}
            assert names == {"rp0", "rp1", "rp2"}
            assert ix.seq >= 1200
    finally:
        await rt.db.close()
