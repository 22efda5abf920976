"""`nubes serve placement --workers 2` on one SQLite file: every worker answers from current data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import httpx
import pytest

from tests.cloud import REPO, free_port, start_cloud, stop_cloud
from tests.dbservers import scratch_database

HEADERS = {"openstack-api-version": "placement 1.39"}


def _serve_placement(identity: object, state, port: int, extra: dict[str, str]) -> subprocess.Popen:
    secrets = json.loads((identity.state_dir / "secrets.json").read_text())
    env = {**os.environ, "NUBES_PLACEMENT__PORT": str(port),
           "NUBES_IDENTITY__PORT": str(identity.ports["identity"]),
           "NUBES_CORE__IDENTITY_URL": identity.url("identity"),
           "NUBES_CORE__SERVICE_PASSWORD": secrets["service_password"], **extra}
    log = open(state / "serve.log", "w")  # noqa: SIM115 - the server writes to it until stopped
    proc = subprocess.Popen([sys.executable, "-m", "nubes.cli", "serve", "placement", "--workers", "2",
                             "--state-dir", str(state)], env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=REPO, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, (state / "serve.log").read_text()
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthcheck", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError((state / "serve.log").read_text())


async def _exercise(base: str, token: str) -> None:
    # A fresh connection per request, so the kernel spreads them over both workers.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, headers={**HEADERS, "x-auth-token": token}, timeout=60,
                                 limits=limits) as c:
        for i in range(20):
            name = f"w-{i}-{uuid.uuid4().hex[:6]}"
            r = await c.post("/resource_providers", json={"name": name})
            assert r.status_code == 200, r.text
            rp = r.json()["uuid"]
            r = await c.put(f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 2}}})
            assert r.status_code == 200, r.text
            # whichever worker answers next must already know the new provider
            r = await c.get(f"/resource_providers?name={name}")
            assert [p["uuid"] for p in r.json()["resource_providers"]] == [rp]
            r = await c.get(f"/allocation_candidates?resources=VCPU:2&in_tree={rp}")
            assert len(r.json()["allocation_requests"]) == 1
            r = await c.put(f"/allocations/{uuid.uuid4()}", json={
                "allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p", "user_id": "u",
                "consumer_generation": None, "consumer_type": "INSTANCE"})
            assert r.status_code == 204
            r = await c.get(f"/allocation_candidates?resources=VCPU:1&in_tree={rp}")
            assert r.json()["allocation_requests"] == []
        # both workers claim against one last unit at once: one wins
        r = await c.post("/resource_providers", json={"name": f"last-{uuid.uuid4().hex[:6]}"})
        rp = r.json()["uuid"]
        await c.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 3}}})
        claims = [c.put(f"/allocations/{uuid.uuid4()}", json={
            "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
            "consumer_generation": None, "consumer_type": "INSTANCE"}) for _ in range(20)]
        codes = sorted(r.status_code for r in await asyncio.gather(*claims))
        assert codes.count(204) == 3 and codes.count(409) == 17, codes


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres),
                                  pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_two_worker_processes_share_one_database(kind, tmp_path):
    (tmp_path / "identity").mkdir()
    identity = start_cloud(tmp_path / "identity", services="identity", names=("identity",))
    state = tmp_path / "placement"
    state.mkdir()
    port = free_port()
    with contextlib.ExitStack() as stack:
        extra = {}
        if kind != "sqlite":
            extra["NUBES_PLACEMENT__DATABASE_URL"] = stack.enter_context(scratch_database(kind))
        proc = _serve_placement(identity, state, port, extra)
        try:
            asyncio.run(_exercise(f"http://127.0.0.1:{port}", identity.token()))
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
            stop_cloud(identity)
        # Each worker logs its first index load; which worker accepts a connection is the
        # kernel's choice, so both usually (not provably) took part.
        assert (state / "serve.log").read_text().count("placement index loaded") >= 1
