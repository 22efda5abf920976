"""A crash loses nothing the API accepted: the all-in-one (identity, image, placement, network and
compute with 3 fake hosts, on the in-process bus) is killed with SIGKILL in the middle of each kind
of asynchronous work and started again on the same state directory; everything it had accepted
converges within a minute of the restart — to what was asked, or to ERROR with a fault — with no
leaked port, allocation, guest, or image file.

Each kill lands mid-work on purpose: the fake driver is made slow for the servers involved
(``fake_delay``), the web-download source sends slowly, and what the database says at the moment
of the kill is read back from its file and checked to be unfinished. One cloud serves the module
(``dedicated_crash_cloud``: these tests kill it); each test brings its own servers.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import socketserver
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud import Cloud, start_cloud, stop_cloud
from tests.functional.compute.conftest import ComputeApi, unique
from tests.functional.compute.servers_fixtures import World, boot_body, make_world, ports_of, wait_status

pytestmark = pytest.mark.slow

SERVICES = ("identity", "image", "placement", "network", "compute")
CONVERGE = 60.0                 # what "within a minute of the restart" means here
PLACEMENT = {"OpenStack-API-Version": "placement 1.28"}


class CrashCloud:
    """An all-in-one started, killed with SIGKILL and started again on one state directory."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.state = tmp / "state"
        self.state.mkdir()
        self.web = SlowSource()
        self.cloud: Cloud | None = None
        self.runs = 0

    def start(self) -> None:
        env = {"NUBES_COMPUTE__FAKE_HOSTS": "3", "NUBES_COMPUTE__REPORT_INTERVAL": "1",
               "NUBES_COMPUTE__QUOTA_INSTANCES": "-1", "NUBES_COMPUTE__QUOTA_CORES": "-1",
               "NUBES_COMPUTE__QUOTA_RAM": "-1", "NUBES_IMAGE__WEB_DOWNLOAD_ALLOWED": self.web.url + "/"}
        self.cloud = start_cloud(self.state, services=",".join(SERVICES), names=SERVICES, extra_env=env)
        self.runs += 1
        self.started = time.monotonic()
        self.api = ComputeApi(self.cloud, self.cloud.token())

    def kill(self) -> None:
        """SIGKILL (no chance to clean up), and keep the log the next start would truncate."""
        assert self.cloud is not None and self.cloud.proc is not None
        self.cloud.proc.kill()
        self.cloud.proc.wait()
        log = self.state / "nubes.log"
        if log.exists():
            log.rename(self.state / f"nubes-run{self.runs}.log")

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.cloud is not None:
            stop_cloud(self.cloud)
        self.web.close()

    def left(self) -> float:
        """Seconds left of the minute since the last start."""
        return max(1.0, CONVERGE - (time.monotonic() - self.started))

    # -- what the database said when the process died ------------------------------------------
    def rows(self, table: str, ids: list[str], columns: str) -> dict[str, tuple]:
        con = sqlite3.connect(f"file:{self.state / 'compute.sqlite'}?mode=ro", uri=True)
        try:
            marks = ",".join("?" * len(ids))
            key = "instance_id" if table == "migrations" else "id"
            found = con.execute(f"SELECT {key}, {columns} FROM {table} WHERE {key} IN ({marks})", ids).fetchall()
        finally:
            con.close()
        return {r[0]: tuple(r[1:]) for r in found}

    # -- raw calls -------------------------------------------------------------------------------
    def get(self, service: str, path: str, **headers: str) -> Any:
        assert self.cloud is not None
        r = httpx.get(self.cloud.url(service, path), headers={"X-Auth-Token": self.api.token, **headers},
                      timeout=30)
        assert r.status_code == 200, r.text
        return r.json()


class SlowSource:
    """An HTTP server for web-download: the first GET of a path trickles, later ones are quick."""

    def __init__(self, size: int = 2 * 1024 * 1024, chunk: int = 32 * 1024, pause: float = 0.1) -> None:
        self.data = bytes(range(256)) * (size // 256)
        self.sent: dict[str, int] = {}
        source = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:       # noqa: N802
                first = self.path not in source.sent
                source.sent.setdefault(self.path, 0)
                self.send_response(200)
                self.send_header("Content-Length", str(len(source.data)))
                self.end_headers()
                try:
                    for i in range(0, len(source.data), chunk):
                        self.wfile.write(source.data[i:i + chunk])
                        source.sent[self.path] += chunk
                        if first:
                            time.sleep(pause)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def dedicated_crash_cloud(tmp_path_factory):
    crash = CrashCloud(tmp_path_factory.mktemp("crash"))
    crash.start()
    yield crash
    crash.stop()


@pytest.fixture(scope="module")
def world(dedicated_crash_cloud) -> World:
    assert dedicated_crash_cloud.cloud is not None
    return make_world(dedicated_crash_cloud.cloud, dedicated_crash_cloud.tmp)


def boot_many(crash: CrashCloud, world: World, n: int, metadata: dict[str, str]) -> list[str]:
    """``n`` creates at once (a burst: one thread each); the ids of the 202s."""
    ids: list[str] = []

    def one(i: int) -> None:
        r = crash.api("POST", "/servers", json=boot_body(world, unique(f"crash{i}"), metadata=metadata))
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == n
    return ids


def wait_task(crash: CrashCloud, sid: str, tasks: tuple[str, ...], timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = crash.api("GET", f"/servers/{sid}").json()["server"]
        if body["OS-EXT-STS:task_state"] in tasks:
            return body
        time.sleep(0.1)
    raise AssertionError(f"server {sid} never reached task {tasks}: {body.get('OS-EXT-STS:task_state')}")


# -- what must not leak --------------------------------------------------------------------------

def assert_nothing_leaked(crash: CrashCloud) -> None:
    """Every compute port has a live server, every allocation is a live server's, every fake guest
    is a live server's on that host and every live server (not shelved) has its guest there."""
    servers = crash.api("GET", "/servers/detail?all_tenants=1").json()["servers"]
    live = {s["id"]: s for s in servers}
    ports = crash.get("network", "/v2.0/ports")["ports"]
    stray = [p["id"] for p in ports if p["device_owner"].startswith("compute:") and p["device_id"] not in live]
    assert stray == [], f"ports of no server: {stray}"
    for rp in crash.get("placement", "/resource_providers", **PLACEMENT)["resource_providers"]:
        consumers = crash.get("placement", f"/resource_providers/{rp['uuid']}/allocations",
                              **PLACEMENT)["allocations"]
        assert set(consumers) <= set(live), f"allocations of no server on {rp['name']}: {set(consumers) - set(live)}"
    for s in servers:
        if s["status"] == "ERROR":
            assert s.get("fault"), s
            assert crash.get("placement", f"/allocations/{s['id']}", **PLACEMENT)["allocations"] == {}
    guests: dict[str, str] = {}
    for path in (crash.state / "compute").glob("fake-*.json"):
        state = json.loads(path.read_text())
        for g in state["guests"]:
            guests[g["id"]] = state["host"]
    for gid, host in guests.items():
        assert gid in live and live[gid]["OS-EXT-SRV-ATTR:host"] == host, f"guest {gid} of no server on {host}"
    for sid, s in live.items():
        if s["status"] in ("ACTIVE", "SHUTOFF", "VERIFY_RESIZE"):
            assert guests.get(sid) == s["OS-EXT-SRV-ATTR:host"], f"server {sid} has no guest on its host"


# -- the scenarios --------------------------------------------------------------------------------

def test_a_burst_of_creates_killed_after_the_202s_all_becomes_active(dedicated_crash_cloud, world):
    crash = dedicated_crash_cloud
    ids = boot_many(crash, world, 10, {"fake_delay": "spawn:3"})
    crash.kill()                       # right after the 202s: every build is somewhere on its way
    at_kill = crash.rows("instances", ids, "vm_state, task_state, host")
    assert all(vm == "building" for vm, _task, _host in at_kill.values()), at_kill
    crash.start()
    for sid in ids:
        body = wait_status(crash.api, sid, timeout=crash.left())
        assert body["status"] == "ACTIVE", (body.get("fault"), at_kill[sid])
        host = body["OS-EXT-SRV-ATTR:host"]
        ports = ports_of(crash.cloud, crash.api.token, sid)
        assert [p["binding:host_id"] for p in ports] == [host]
        allocs = crash.get("placement", f"/allocations/{sid}", **PLACEMENT)["allocations"]
        rps = {rp["name"]: rp["uuid"] for rp in crash.get("placement", "/resource_providers",
                                                            **PLACEMENT)["resource_providers"]}
        assert set(allocs) == {rps[host]}
    assert_nothing_leaked(crash)


def test_a_burst_of_deletes_killed_after_the_202s_all_goes(dedicated_crash_cloud, world):
    crash = dedicated_crash_cloud
    ids = boot_many(crash, world, 10, {"fake_delay": "destroy:3"})
    for sid in ids:
        assert wait_status(crash.api, sid)["status"] == "ACTIVE"
    for sid in ids:
        assert crash.api("DELETE", f"/servers/{sid}").status_code == 204
    crash.kill()
    at_kill = crash.rows("instances", ids, "deleted, task_state")
    assert all(not deleted and task == "deleting" for deleted, task in at_kill.values()), at_kill
    crash.start()
    deadline = time.monotonic() + crash.left()
    left = set(ids)
    while left and time.monotonic() < deadline:
        left = {sid for sid in left if crash.api("GET", f"/servers/{sid}").status_code != 404}
        time.sleep(0.3)
    assert not left, f"not deleted within a minute: {left}"
    for sid in ids:
        assert ports_of(crash.cloud, crash.api.token, sid) == []
        assert crash.get("placement", f"/allocations/{sid}", **PLACEMENT)["allocations"] == {}
    assert_nothing_leaked(crash)


def test_a_resize_killed_while_the_destination_builds_the_guest_finishes(dedicated_crash_cloud, world):
    crash = dedicated_crash_cloud
    assert crash.cloud is not None
    big = crash.cloud.osc("flavor", "create", "--ram", "1024", "--disk", "2", "--vcpus", "2", unique("big"))
    (sid,) = boot_many(crash, world, 1, {"fake_delay": "finish_migration:4"})
    source = wait_status(crash.api, sid)["OS-EXT-SRV-ATTR:host"]
    r = crash.api("POST", f"/servers/{sid}/action", json={"resize": {"flavorRef": big["id"]}})
    assert r.status_code == 202, r.text
    wait_task(crash, sid, ("resize_finish",))
    crash.kill()
    (status, mid), = crash.rows("migrations", [sid], "status, uuid").values()
    assert status == "post-migrating"
    crash.start()
    body = wait_status(crash.api, sid, ("VERIFY_RESIZE", "ACTIVE", "ERROR"), timeout=crash.left())
    assert body["status"] == "VERIFY_RESIZE", body.get("fault")
    dest = body["OS-EXT-SRV-ATTR:host"]
    assert dest != source and body["flavor"]["original_name"] == big["name"]
    assert crash.api("POST", f"/servers/{sid}/action", json={"confirmResize": None}).status_code == 204
    body = wait_status(crash.api, sid)
    assert body["status"] == "ACTIVE" and body["OS-EXT-SRV-ATTR:host"] == dest
    assert crash.get("placement", f"/allocations/{mid}", **PLACEMENT)["allocations"] == {}
    assert [p["binding:host_id"] for p in ports_of(crash.cloud, crash.api.token, sid)] == [dest]
    assert_nothing_leaked(crash)


def test_a_snapshot_killed_before_its_upload_is_taken_again(dedicated_crash_cloud, world):
    crash = dedicated_crash_cloud
    (sid,) = boot_many(crash, world, 1, {"fake_delay": "snapshot:4"})
    assert wait_status(crash.api, sid)["status"] == "ACTIVE"
    r = crash.api("POST", f"/servers/{sid}/action", json={"createImage": {"name": unique("snap")}})
    assert r.status_code == 202, r.text
    image_id = r.json()["image_id"]
    wait_task(crash, sid, ("image_pending_upload",))
    crash.kill()
    crash.start()
    body = wait_task(crash, sid, (None,), timeout=crash.left())
    assert body["status"] == "ACTIVE"
    deadline = time.monotonic() + crash.left()
    image: dict[str, Any] = {}
    while time.monotonic() < deadline:
        image = crash.get("image", f"/v2/images/{image_id}")
        if image["status"] == "active":
            break
        time.sleep(0.3)
    assert image["status"] == "active", image
    assert image["instance_uuid"] == sid and image["disk_format"] == "qcow2"
    assert_nothing_leaked(crash)


def test_an_image_import_killed_mid_download_is_resumed(dedicated_crash_cloud):
    crash = dedicated_crash_cloud
    assert crash.cloud is not None
    token = crash.api.token
    h = {"X-Auth-Token": token}
    r = httpx.post(crash.cloud.url("image", "/v2/images"), headers=h, timeout=30,
                   json={"name": unique("import"), "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    uri = f"{crash.web.url}/{image_id}.raw"
    r = httpx.post(crash.cloud.url("image", f"/v2/images/{image_id}/import"), headers=h, timeout=30,
                   json={"method": {"name": "web-download", "uri": uri}})
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 30
    while crash.web.sent.get(f"/{image_id}.raw", 0) < len(crash.web.data) // 4:
        assert time.monotonic() < deadline, "the download never started"
        time.sleep(0.05)
    crash.kill()                       # a quarter of it sent: the import is half-way
    crash.start()
    deadline = time.monotonic() + crash.left()
    image: dict[str, Any] = {}
    while time.monotonic() < deadline:
        image = crash.get("image", f"/v2/images/{image_id}")
        if image["status"] not in ("importing", "queued", "uploading"):
            break
        time.sleep(0.3)
    assert image["status"] == "active", image
    assert image["checksum"] == hashlib.md5(crash.web.data).hexdigest()
    assert not any(image.get(k) for k in ("os_glance_import_task", "os_glance_failed_import",
                                          "os_glance_import_job"))
    r = httpx.get(crash.cloud.url("image", f"/v2/images/{image_id}/file"), headers=h, timeout=30)
    assert r.content == crash.web.data
    files = [p.name for p in (crash.state / "images").rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith(".part")], files
