"""A network quota of 5 under 30 parallel creates: exactly 5 networks, 25 clean 409 OverQuota,
on SQLite and PostgreSQL (the per-project quota lock is what serialises the count and insert)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.cloud import start_cloud, stop_cloud
from tests.dbservers import scratch_database
from tests.functional.network.conftest import NetApi, make_member

CREATES, QUOTA = 30, 5


def race(cloud, tmp_path) -> None:
    admin = NetApi(cloud, cloud.token())
    member = make_member(cloud, tmp_path)
    r = admin("PUT", f"/quotas/{member.project_id}", json={"quota": {"network": QUOTA}})
    assert r.status_code == 200, r.text
    url = f"{member.api.url}/v2.0/networks"

    def create(i: int) -> tuple[int, dict]:
        with httpx.Client(timeout=120) as client:
            r = client.post(url, json={"network": {"name": f"q-{i}"}}, headers={"X-Auth-Token": member.api.token})
            return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=15) as pool:
        results = list(pool.map(create, range(CREATES)))
    statuses = sorted(s for s, _ in results)
    assert statuses.count(201) == QUOTA and statuses.count(409) == CREATES - QUOTA, statuses
    assert {b["NeutronError"]["type"] for s, b in results if s == 409} == {"OverQuota"}
    listed = admin("GET", f"/networks?project_id={member.project_id}").json()["networks"]
    assert len(listed) == QUOTA
    details = admin("GET", f"/quotas/{member.project_id}/details").json()["quota"]["network"]
    assert details["used"] == QUOTA and details["limit"] == QUOTA


def test_parallel_creates_stop_at_the_quota_on_sqlite(tmp_path):
    cloud = start_cloud(tmp_path, services="identity,network", names=("identity", "network"))
    try:
        race(cloud, tmp_path)
    finally:
        stop_cloud(cloud)


@pytest.mark.postgres
def test_parallel_creates_stop_at_the_quota_on_postgres(tmp_path):
    with scratch_database("postgres") as url:
        cloud = start_cloud(tmp_path, services="identity,network", names=("identity", "network"),
                            extra_env={"NUBES_NETWORK__DATABASE_URL": url})
        try:
            race(cloud, tmp_path)
        finally:
            stop_cloud(cloud)
