"""`nubes serve compute`: the compute API in worker processes and the conductor in one more, on
PostgreSQL and RabbitMQ, beside a controller whose own compute runs no conductor. Servers booted
through the served API are scheduled by its conductor and built by a compute node; SIGTERM stops
every process of the role."""

from __future__ import annotations

import time

import httpx
import psutil
import pytest

from tests.cloud import free_port
from tests.dbservers import scratch_database
from tests.multinode.nodes import LATEST, MultiNode, make_world

pytestmark = [pytest.mark.rabbitmq, pytest.mark.multinode, pytest.mark.postgres]


def _wait_http(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


def test_serve_compute_runs_api_workers_and_the_conductor(mn: MultiNode):
    mn.env.update({"NUBES_COMPUTE__REPORT_INTERVAL": "0.5", "NUBES_COMPUTE__SERVICE_DOWN_TIME": "30"})
    with scratch_database("postgres") as url:
        mn.start_controller(compute_db=url, extra_env={"NUBES_COMPUTE__RUN_CONDUCTOR": "false"})
        world = make_world(mn)
        port, metadata_port = free_port(), free_port()
        served = mn._node("serve-compute", ["serve", "compute", "--workers", "2"],
                          {"NUBES_COMPUTE__DATABASE_URL": url, "NUBES_COMPUTE__PORT": str(port),
                           "NUBES_COMPUTE__METADATA_PORT": str(metadata_port),
                           "NUBES_COMPUTE__NOVNCPROXY_PORT": str(free_port()),
                           "NUBES_COMPUTE__SERIALPROXY_PORT": str(free_port())},
                          "compute conductor serving")
        mn.conductor = served               # the fixture kills it if the test fails
        served.start(timeout=90)
        assert "its API on :%d with 2 worker processes" % port in served.log()
        base = f"http://127.0.0.1:{port}/v2.1"
        _wait_http(f"http://127.0.0.1:{port}/healthcheck")
        # the workers serve compute's metadata API too; unsigned requests are refused there
        assert httpx.get(f"http://127.0.0.1:{metadata_port}/", timeout=10).text.splitlines()[-1] == "latest"
        assert httpx.get(f"http://127.0.0.1:{metadata_port}/openstack", timeout=10).status_code == 400
        assert served.proc is not None
        children = psutil.Process(served.proc.pid).children()
        assert len(children) == 3                                   # 2 API workers + the conductor
        mn.add_agent("mn-a")                # it registers through the served conductor
        headers = {"X-Auth-Token": mn.token, "OpenStack-API-Version": f"compute {LATEST}"}
        ids = []
        for i in range(4):                  # over the keep-alive-less client: several workers answer
            r = httpx.post(f"{base}/servers", headers=headers, json=world.body(f"served-{i}"), timeout=60)
            assert r.status_code == 202, r.text
            ids.append(r.json()["server"]["id"])
        for sid in ids:
            body = mn.wait_server(sid, lambda s: s["status"] in ("ACTIVE", "ERROR"), 60, "ACTIVE")
            assert (body["status"], body["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", "mn-a"), body.get("fault")
        r = httpx.get(f"{base}/servers/detail", headers=headers, timeout=60)
        assert r.status_code == 200, r.text
        assert {s["id"] for s in r.json()["servers"]} >= set(ids)
        assert served.stop() == 0
        for child in children:
            assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
