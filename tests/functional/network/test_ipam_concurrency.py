"""100 port creates at once on a subnet whose pool holds 40 addresses, on SQLite, PostgreSQL and
MariaDB: exactly 40 succeed with 40 distinct addresses, the other 60 get a clean 409
IpAddressGenerationFailure, nothing answers 500, and the database holds exactly 40 allocations."""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.dbservers import scratch_database
from tests.functional.network.conftest import NetApi, unique

CREATES, POOL = 100, 40
WORKERS = 20


def allocations_in_db(kind: str, location: str, subnet_id: str) -> int:
    """Count ip_allocations rows of the subnet straight from the service's database."""
    if kind == "sqlite":
        with sqlite3.connect(location) as conn:
            return conn.execute("SELECT count(*) FROM ip_allocations WHERE subnet_id = ?", (subnet_id,)).fetchone()[0]
    name = location.rsplit("/", 1)[1]
    if kind == "mariadb":
        import pymysql

        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=name)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM ip_allocations WHERE subnet_id = %s", (subnet_id,))
                return cur.fetchone()[0]
        finally:
            conn.close()
    import asyncpg

    async def run() -> int:
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database=name)
        try:
            return await conn.fetchval("SELECT count(*) FROM ip_allocations WHERE subnet_id = $1", subnet_id)
        finally:
            await conn.close()

    return asyncio.run(run())


def race(cloud, kind: str, location: str) -> None:
    api = NetApi(cloud, cloud.token())
    net = api.create("network", name=unique("race"))
    sub = api.create("subnet", network_id=net["id"], ip_version=4, cidr="10.210.0.0/26",
                     allocation_pools=[{"start": "10.210.0.10", "end": "10.210.0.49"}])
    url = f"{api.url}/v2.0/ports"
    body = {"port": {"network_id": net["id"]}}

    def create(_i: int) -> tuple[int, dict]:
        with httpx.Client(timeout=120) as client:
            r = client.post(url, json=body, headers={"X-Auth-Token": api.token})
            return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = list(pool.map(create, range(CREATES)))
    statuses = [s for s, _ in results]
    assert 500 not in statuses, [b for s, b in results if s >= 500][:3]
    made = [b["port"] for s, b in results if s == 201]
    refused = [b["NeutronError"] for s, b in results if s != 201]
    addresses = [p["fixed_ips"][0]["ip_address"] for p in made]
    assert len(made) == POOL and len(set(addresses)) == POOL, sorted(statuses)
    assert {int(a.rsplit(".", 1)[1]) for a in addresses} == set(range(10, 50))
    assert len(refused) == CREATES - POOL
    assert {e["type"] for e in refused} == {"IpAddressGenerationFailure"}, refused[:3]
    assert {s for s, _ in results if s != 201} == {409}
    assert len({p["mac_address"] for p in made}) == POOL
    assert allocations_in_db(kind, location, sub["id"]) == POOL
    listed = api("GET", f"/ports?fixed_ips=subnet_id={sub['id']}&fields=id").json()["ports"]
    assert len(listed) == POOL
    usage = api("GET", f"/network-ip-availabilities/{net['id']}").json()["network_ip_availability"]
    assert usage["used_ips"] == POOL and usage["total_ips"] == POOL


def test_parallel_port_creates_on_sqlite(tmp_path):
    cloud = start_cloud(tmp_path, services="identity,network", names=("identity", "network"))
    try:
        race(cloud, "sqlite", str(tmp_path / "network.sqlite"))
    finally:
        stop_cloud(cloud)


@pytest.mark.parametrize("kind", [pytest.param("mariadb", marks=pytest.mark.mariadb),
                                  pytest.param("postgres", marks=pytest.mark.postgres)])
@pytest.mark.parametrize("port_quota", ["500", "-1"], ids=["quota", "unlimited"])
def test_parallel_port_creates_on_database_server(kind, port_quota, tmp_path):
    """With a port quota the project's quota lock orders the creates; without one nothing does,
    and writers that picked the same address lose the insert and retry."""
    with scratch_database(kind) as url:
        cloud = start_cloud(tmp_path, services="identity,network", names=("identity", "network"),
                            extra_env={"NUBES_NETWORK__DATABASE_URL": url, "NUBES_NETWORK__QUOTA_PORT": port_quota})
        try:
            race(cloud, kind, url)
        finally:
            stop_cloud(cloud)
