"""`nubes serve object --role proxy|storage`: a Swift cluster of separate processes on one
machine. Two storage nodes (two devices each, their servers and daemons, no database or
identity) and a proxy (two workers) share rings made with `nubes ring`; identity is an
all-in-one of its own. Objects written through the proxy land on both nodes; writes go on with
a node stopped, and its replicator's peers bring it up to date once it is back; SIGTERM stops
every process of a role."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from tests.cloud import REPO, free_port, start_cloud, stop_cloud

REPLICAS = 3


def nubes(*args: str, env: dict[str, str] | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nubes.cli", *args], env=env or os.environ.copy(),
                          capture_output=True, text=True, cwd=REPO, timeout=60, **kw)


class Role:
    def __init__(self, name: str, args: list[str], env: dict[str, str], tmp: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = tmp / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, ready: str, timeout: float = 60) -> None:
        mark = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "nubes.cli", *self.args], env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log()
            if ready in self.log()[mark:]:
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never said {ready!r}:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            for child in psutil.Process(self.proc.pid).children(recursive=True):
                child.kill()
            self.proc.kill()
            self.proc.wait()


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def data_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.data") if "/objects/" in str(p)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("roles")
    (tmp / "identity").mkdir()
    identity = start_cloud(tmp / "identity", services="identity")
    secrets = json.loads((tmp / "identity" / "secrets.json").read_text())
    rings = tmp / "rings"
    rings.mkdir()
    nodes = {}
    for n in ("s1", "s2"):
        ports = {kind: free_port() for kind in ("object", "container", "account")}
        for dev in ("sdb", "sdc"):
            (tmp / n / "devices" / dev).mkdir(parents=True)
        nodes[n] = ports
    for kind in ("account", "container", "object"):
        builder = str(rings / f"{kind}.builder")
        assert nubes("ring", "create", builder, "6", str(REPLICAS), "0").returncode == 0
        for zone, (n, ports) in enumerate(nodes.items(), start=1):
            for dev in ("sdb", "sdc"):
                r = nubes("ring", "add", builder, f"r1z{zone}-127.0.0.1:{ports[kind]}/{dev}", "100")
                assert r.returncode == 0, r.stderr
        r = nubes("ring", "rebalance", builder)
        assert r.returncode == 0, r.stderr
    base = {**os.environ, "NUBES_OBJECT__RINGS": str(rings), "NUBES_OBJECT__FALLOCATE_RESERVE": "0"}
    storage = {}
    for n, ports in nodes.items():
        env = {**base, "NUBES_OBJECT__DEVICES": str(tmp / n / "devices"),
               "NUBES_OBJECT__REPLICATOR_INTERVAL": "1", "NUBES_OBJECT__DB_REPLICATOR_INTERVAL": "1",
               "NUBES_OBJECT__UPDATER_INTERVAL": "1",
               **{f"NUBES_OBJECT__{k.upper()}_PORT": str(p) for k, p in ports.items()}}
        storage[n] = Role(n, ["serve", "object", "--role", "storage", "--workers", "1",
                              "--state-dir", str(tmp / n)], env, tmp)
    port = free_port()
    proxy = Role("proxy", ["serve", "object", "--role", "proxy", "--workers", "2", "--state-dir",
                           str(tmp / "proxy")],
                 {**base, "NUBES_OBJECT__PORT": str(port), "NUBES_CORE__IDENTITY_URL": identity.auth_url[:-3],
                  "NUBES_CORE__SERVICE_PASSWORD": secrets["service_password"]}, tmp)
    try:
        for role in storage.values():
            role.start("serving object (storage)")
        proxy.start("serving object (proxy)")
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _answers(f"{url}/healthcheck"), 60, "the proxy")
        token = identity.token()
        project = httpx.get(f"{identity.auth_url}/auth/tokens",
                            headers={"X-Auth-Token": token, "X-Subject-Token": token},
                            timeout=10).json()["token"]["project"]["id"]
        yield {"tmp": tmp, "storage": storage, "proxy": proxy, "rings": rings,
               "account": f"{url}/v1/AUTH_{project}", "headers": {"X-Auth-Token": token}}
    finally:
        for role in (proxy, *storage.values()):
            role.kill()
        stop_cloud(identity)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_objects_through_the_proxy_live_on_both_storage_nodes(cluster):
    acct, headers = cluster["account"], cluster["headers"]
    assert httpx.put(f"{acct}/photos", headers=headers, timeout=10).status_code == 201
    for i in range(12):
        r = httpx.put(f"{acct}/photos/p{i}", headers=headers, content=f"photo {i}".encode(), timeout=10)
        assert r.status_code == 201, r.text
    listing = httpx.get(f"{acct}/photos?format=json", headers=headers, timeout=10).json()
    assert [o["name"] for o in listing] == sorted(f"p{i}" for i in range(12))
    assert httpx.get(f"{acct}/photos/p7", headers=headers, timeout=10).content == b"photo 7"
    tmp = cluster["tmp"]
    on = {n: len(data_files(tmp / n / "devices")) for n in ("s1", "s2")}
    assert sum(on.values()) == 12 * REPLICAS and all(on.values()), on
    assert len(psutil.Process(cluster["proxy"].proc.pid).children()) == 2        # 2 API workers
    assert len(psutil.Process(cluster["storage"]["s1"].proc.pid).children()) == 2  # 1 worker + daemons


def test_a_stopped_node_is_brought_up_to_date_when_it_returns(cluster):
    acct, headers, tmp = cluster["account"], cluster["headers"], cluster["tmp"]
    assert httpx.put(f"{acct}/later", headers=headers, timeout=10).status_code == 201
    s2 = cluster["storage"]["s2"]
    children = psutil.Process(s2.proc.pid).children()
    assert s2.stop() == 0                             # SIGTERM ends the node and its children
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
    before = len(data_files(tmp / "s2" / "devices"))
    for i in range(8):
        r = httpx.put(f"{acct}/later/o{i}", headers=headers, content=b"x" * 100, timeout=20)
        assert r.status_code == 201, r.text
    for i in range(8):
        assert httpx.get(f"{acct}/later/o{i}", headers=headers, timeout=10).content == b"x" * 100
    s2.start("serving object (storage)")
    # Its peers' replicators push what it missed and revert what the handoffs on s1 took; the
    # container updates that were meant for its container replica are replayed by the updaters
    # (until then a listing from another replica may lack them, as Swift's may).
    wait_until(lambda: len(data_files(tmp / "s2" / "devices")) > before and
               sum(len(data_files(tmp / n / "devices")) for n in ("s1", "s2")) == (12 + 8) * REPLICAS,
               90, "the replicas to settle on their primaries")
    wait_until(lambda: httpx.get(f"{acct}/later", headers=headers, timeout=10).text.split() ==
               [f"o{i}" for i in range(8)], 60, "the listing to hold every object")


def test_roles_refuse_what_they_cannot_run(cluster, tmp_path):
    r = nubes("serve", "object", "--role", "storage", "--state-dir", str(tmp_path / "bare"))
    assert r.returncode == 2 and "a storage node does not make rings" in r.stderr + r.stdout
    r = nubes("serve", "compute", "--role", "proxy", "--state-dir", str(tmp_path / "c"))
    assert r.returncode == 2 and "--role is object storage's" in r.stderr + r.stdout
    env = {**os.environ, "NUBES_OBJECT__RINGS": str(cluster["rings"]), "NUBES_OBJECT__OBJECT_PORT": "0",
           "NUBES_OBJECT__CONTAINER_PORT": "0", "NUBES_OBJECT__ACCOUNT_PORT": "0"}
    r = nubes("serve", "object-storage", "--role", "storage", "--state-dir", str(tmp_path / "z"), env=env)
    assert r.returncode == 2 and "has nothing to serve" in r.stderr + r.stdout
