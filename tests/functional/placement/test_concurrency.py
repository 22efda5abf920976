"""Claims are atomic: many parallel claims never allocate beyond capacity, on every database."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid

import httpx
import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.dbservers import scratch_database

HEADERS = {"openstack-api-version": "placement 1.39"}


async def _provider(c: httpx.AsyncClient, inventories: dict) -> str:
    r = await c.post("/resource_providers", json={"name": f"rp-{uuid.uuid4().hex[:10]}"})
    assert r.status_code == 200, r.text
    rp = r.json()["uuid"]
    r = await c.put(f"/resource_providers/{rp}/inventories",
                    json={"resource_provider_generation": 0, "inventories": inventories})
    assert r.status_code == 200, r.text
    return rp


async def _claim(c: httpx.AsyncClient, allocations: dict) -> httpx.Response:
    return await c.put(f"/allocations/{uuid.uuid4()}", json={
        "allocations": {rp: {"resources": res} for rp, res in allocations.items()},
        "project_id": "proj", "user_id": "user", "consumer_generation": None, "consumer_type": "INSTANCE"})


async def _usage(c: httpx.AsyncClient, rp: str) -> dict:
    return (await c.get(f"/resource_providers/{rp}/usages")).json()["usages"]


async def _scenario(base: str, token: str) -> None:
    limits = httpx.Limits(max_connections=60, max_keepalive_connections=60)
    async with httpx.AsyncClient(base_url=base, headers={**HEADERS, "x-auth-token": token}, timeout=60,
                                 limits=limits) as c:
        # 50 claims of one VCPU against a capacity of (12 - 2) * 1.0 = 10
        rp = await _provider(c, {"VCPU": {"total": 12, "reserved": 2}})
        results = await asyncio.gather(*(_claim(c, {rp: {"VCPU": 1}}) for _ in range(50)))
        codes = sorted(r.status_code for r in results)
        assert codes.count(204) == 10 and codes.count(409) == 40, codes
        assert all(r.json()["errors"][0]["status"] == 409 for r in results if r.status_code == 409)
        assert (await _usage(c, rp))["VCPU"] == 10

        # two consumers race for the last unit: exactly one wins
        last = await _provider(c, {"VCPU": {"total": 1}})
        a, b = await asyncio.gather(_claim(c, {last: {"VCPU": 1}}), _claim(c, {last: {"VCPU": 1}}))
        assert sorted([a.status_code, b.status_code]) == [204, 409]

        # mixed sizes against a nearly full provider with an allocation ratio
        rp2 = await _provider(c, {"VCPU": {"total": 8, "allocation_ratio": 2.5},
                                  "MEMORY_MB": {"total": 1024, "step_size": 64}})
        rng = random.Random(7)
        sizes = [(rng.randint(1, 3), 64 * rng.randint(1, 3)) for _ in range(50)]
        results = await asyncio.gather(*(_claim(c, {rp2: {"VCPU": v, "MEMORY_MB": m}}) for v, m in sizes))
        won = [s for s, r in zip(sizes, results, strict=True) if r.status_code == 204]
        assert {r.status_code for r in results} <= {204, 409}
        usage = await _usage(c, rp2)
        assert usage == {"VCPU": sum(v for v, _ in won), "MEMORY_MB": sum(m for _, m in won)}
        assert usage["VCPU"] <= 20 and usage["MEMORY_MB"] <= 1024

        # claims spanning two providers, named in either order, neither deadlock nor overshoot
        p = await _provider(c, {"VCPU": {"total": 10}})
        q = await _provider(c, {"VCPU": {"total": 10}})
        pairs = [({p: {"VCPU": 1}, q: {"VCPU": 1}} if i % 2 else {q: {"VCPU": 1}, p: {"VCPU": 1}})
                 for i in range(30)]
        results = await asyncio.gather(*(_claim(c, alloc) for alloc in pairs))
        assert sorted(r.status_code for r in results).count(204) == 10
        assert (await _usage(c, p))["VCPU"] == 10 and (await _usage(c, q))["VCPU"] == 10

        # the candidates agree with what was written: nothing left on the full providers
        r = await c.get("/allocation_candidates?resources=VCPU:1&limit=100")
        offered = {u for ar in r.json()["allocation_requests"] for u in ar["allocations"]}
        assert not offered & {rp, last, p, q}


@contextlib.contextmanager
def _database(kind: str):
    if kind == "sqlite":
        yield {}
        return
    with scratch_database(kind) as url:
        yield {"NUBES_PLACEMENT__DATABASE_URL": url}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                                  pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_parallel_claims_never_exceed_capacity(kind, tmp_path):
    with _database(kind) as env:
        cloud = start_cloud(tmp_path, services="identity,placement", names=("identity", "placement"),
                            extra_env=env)
        try:
            asyncio.run(_scenario(cloud.url("placement"), cloud.token()))
        finally:
            stop_cloud(cloud)
