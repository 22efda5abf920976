"""Several nubes processes on this machine as the nodes of one cloud, on a RabbitMQ virtual host
of their own (so runs never share a queue): a controller (`nubes up`: the APIs and, unless it
runs apart, the compute conductor), the conductor alone (`nubes serve compute --no-api`) and
compute nodes (`nubes agent compute --host NAME`), each a subprocess with its own log and
state directory, that a test can kill (SIGKILL), stop (SIGTERM) and start again.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.cloud import REPO, Cloud, start_cloud, stop_cloud

AMQP = "amqp://guest:guest@127.0.0.1:5672/"
SERVICES = ("identity", "image", "placement", "network", "compute")
LATEST = "2.96"


def _rabbitmqctl(*args: str) -> str:
    try:
        res = subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"rabbitmqctl on this machine failed: {exc}")
    if res.returncode != 0:
        pytest.fail(f"rabbitmqctl {' '.join(args)} failed: {res.stderr or res.stdout}")
    return res.stdout


class Vhost:
    """A RabbitMQ virtual host for one test: its queues and exchanges go with it."""

    def __init__(self) -> None:
        self.name = f"nubes-mn-{uuid.uuid4().hex[:10]}"
        _rabbitmqctl("add_vhost", self.name)
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")
        self.url = AMQP + quote(self.name, safe="")

    def queue_depth(self, queue: str) -> int:
        out = _rabbitmqctl("list_queues", "-p", self.name, "name", "messages")
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == queue:
                return int(parts[1])
        return 0

    def delete(self) -> None:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", self.name], capture_output=True, timeout=60)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies of the group count as gone.
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


@dataclass
class Node:
    """One nubes process of the cloud."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    log_path: Path
    ready_line: str = ""                    # a line of its log that says it is up
    proc: subprocess.Popen | None = None
    starts: int = 0

    def start(self, timeout: float = 60) -> Node:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        self.starts += 1
        with open(self.log_path, "a") as log:
            log.write(f"\n===== start {self.starts} of {self.name} =====\n")
        self._mark = self.log_path.stat().st_size
        # A session of its own: kill() takes the whole process group (serve forks its workers).
        self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=REPO, stdout=open(self.log_path, "a"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if self.ready_line:
            self.wait_log(self.ready_line, timeout)
        return self

    def log(self, since_start: bool = True) -> str:
        text = self.log_path.read_text(errors="replace")
        return text[self._mark:] if since_start else text

    def wait_log(self, line: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if line in self.log():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            time.sleep(0.1)
        raise AssertionError(f"{self.name} never logged {line!r}:\n{self.log()[-4000:]}")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a machine dies."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _group_alive(self.proc.pid):
            assert time.monotonic() < deadline, f"processes of {self.name} outlived SIGKILL"
            time.sleep(0.05)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, and its exit status (it must exit by itself)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.name} did not exit within {timeout}s of SIGTERM:\n"
                                     f"{self.log()[-4000:]}") from None
        return self.proc.returncode


@dataclass
class MultiNode:
    """A cloud of several processes on one RabbitMQ vhost."""

    tmp: Path
    vhost: Vhost
    controller: Cloud | None = None
    conductor: Node | None = None
    agents: dict[str, Node] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)   # what every node gets (timings, URLs)
    _token: str = ""

    # -- starting -------------------------------------------------------------------------
    def start_controller(self, *, conductor_apart: bool = False, compute_db: str | None = None,
                         extra_env: dict[str, str] | None = None) -> Cloud:
        # Fake guests have no taps for the network's Linux data plane to wire: leave it off.
        env = {"NUBES_CORE__BUS_URL": self.vhost.url, "NUBES_COMPUTE__RUN_AGENTS": "false",
               "NUBES_NETWORK__DATAPLANE": "off", **self.env}
        if compute_db:
            env["NUBES_COMPUTE__DATABASE_URL"] = compute_db
        if conductor_apart:
            env["NUBES_COMPUTE__RUN_CONDUCTOR"] = "false"
        env.update(extra_env or {})
        (self.tmp / "controller").mkdir(parents=True, exist_ok=True)
        self.controller = start_cloud(self.tmp / "controller", services=",".join(SERVICES), extra_env=env,
                                      names=SERVICES)
        secrets = json.loads((self.tmp / "controller" / "secrets.json").read_text())
        # What the other nodes are told: the broker, identity's port, the service password.
        self.env.update({"NUBES_CORE__BUS_URL": self.vhost.url,
                         "NUBES_CORE__SERVICE_PASSWORD": secrets["service_password"]})
        self.env.update({k: v for k, v in self.controller.env.items()
                         if k.startswith("NUBES_") and k.endswith("PORT")})
        if conductor_apart:
            self.conductor = self._node("conductor", ["serve", "compute", "--no-api"],
                                        {"NUBES_COMPUTE__DATABASE_URL": compute_db or
                                         f"sqlite:///{self.tmp / 'controller' / 'compute.sqlite'}"},
                                        "compute conductor serving")
            self.conductor.start()
        return self.controller

    def _node(self, name: str, args: list[str], env: dict[str, str], ready: str) -> Node:
        state = self.tmp / name
        state.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, "NUBES_IDENTITY__PASSWORD_HASH_ROUNDS": "4", "NUBES_COMPUTE__DRIVER": "fake",
                    **self.env, **env}
        return Node(name, [sys.executable, "-m", "nubes.cli", *args, "--state-dir", str(state)], full_env,
                    self.tmp / f"{name}.log", ready)

    def add_agent(self, host: str, *, wait: bool = True) -> Node:
        node = self._node(f"agent-{host}", ["agent", "compute", "--host", host], {},
                          f"compute agent {host} (node")
        self.agents[host] = node
        node.start()
        if wait:
            self.wait_host(host)
        return node

    # -- looking at the cloud ---------------------------------------------------------------
    @property
    def token(self) -> str:
        if not self._token:
            assert self.controller is not None
            self._token = self.controller.token()
        return self._token

    def api(self, method: str, path: str, *, service: str = "compute", version: str | None = LATEST,
            **kw: Any) -> httpx.Response:
        assert self.controller is not None
        headers = {"X-Auth-Token": self.token, **kw.pop("headers", {})}
        prefix = {"compute": "/v2.1", "network": "/v2.0", "image": "", "placement": ""}[service]
        if service == "compute" and version:
            headers["OpenStack-API-Version"] = f"compute {version}"
        if service == "placement":
            headers["OpenStack-API-Version"] = "placement 1.28"
        return httpx.request(method, self.controller.url(service, prefix + path), headers=headers, timeout=60,
                             **kw)

    def service_of(self, host: str) -> dict[str, Any] | None:
        r = self.api("GET", f"/os-services?binary=nova-compute&host={host}")
        assert r.status_code == 200, r.text
        rows = r.json()["services"]
        return rows[0] if rows else None

    def wait_host(self, host: str, state: str = "up", timeout: float = 60) -> dict[str, Any]:
        """The host's compute service once it is ``state`` (and, when up, in placement)."""
        deadline = time.monotonic() + timeout
        svc: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            svc = self.service_of(host)
            if svc and svc["state"] == state:
                if state != "up":
                    return svc
                rps = self.api("GET", f"/resource_providers?name={host}", service="placement").json()
                if rps.get("resource_providers"):
                    return svc
            time.sleep(0.3)
        raise AssertionError(f"compute service of {host} is not {state}: {svc}")

    def server(self, sid: str) -> dict[str, Any]:
        r = self.api("GET", f"/servers/{sid}")
        assert r.status_code == 200, r.text
        return r.json()["server"]

    def wait_server(self, sid: str, check: Any, timeout: float = 60, what: str = "") -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.server(sid)
            if check(body):
                return body
            time.sleep(0.25)
        raise AssertionError(f"server {sid} never got {what or 'there'}: status {body.get('status')}, task "
                             f"{body.get('OS-EXT-STS:task_state')}, host {body.get('OS-EXT-SRV-ATTR:host')}, "
                             f"fault {body.get('fault')}")

    def allocations(self, sid: str) -> dict[str, Any]:
        r = self.api("GET", f"/allocations/{sid}", service="placement")
        assert r.status_code == 200, r.text
        return r.json()["allocations"]

    def provider_of(self, host: str) -> str:
        rps = self.api("GET", f"/resource_providers?name={host}", service="placement").json()["resource_providers"]
        assert rps, f"no provider named {host}"
        return rps[0]["uuid"]

    def ports(self, sid: str) -> list[dict[str, Any]]:
        r = self.api("GET", f"/ports?device_id={sid}", service="network")
        assert r.status_code == 200, r.text
        return r.json()["ports"]

    # -- stopping ---------------------------------------------------------------------------
    def close(self) -> None:
        for node in [*self.agents.values(), *([self.conductor] if self.conductor else [])]:
            if node.proc is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.proc.pid, signal.SIGKILL)
                node.proc.wait()
        if self.controller is not None:
            stop_cloud(self.controller)


@dataclass
class World:
    flavor_id: str
    image_id: str
    network_id: str

    def body(self, name: str, **extra: Any) -> dict[str, Any]:
        return {"server": {"name": name, "flavorRef": self.flavor_id, "imageRef": self.image_id,
                           "networks": [{"uuid": self.network_id}], **extra}}


def make_world(mn: MultiNode) -> World:
    """A flavor, a public image with a small file and a shared network with a subnet (raw HTTP)."""
    suffix = uuid.uuid4().hex[:6]
    r = mn.api("POST", "/flavors", json={"flavor": {"name": f"mn-{suffix}", "ram": 256, "vcpus": 1, "disk": 1}})
    assert r.status_code == 200, r.text
    flavor = r.json()["flavor"]["id"]
    r = mn.api("POST", "/v2/images", service="image", json={
        "name": f"mn-{suffix}", "disk_format": "raw", "container_format": "bare", "visibility": "public"})
    assert r.status_code == 201, r.text
    image = r.json()["id"]
    r = mn.api("PUT", f"/v2/images/{image}/file", service="image", content=b"\0" * 4096,
               headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    r = mn.api("POST", "/networks", service="network", json={"network": {"name": f"mn-{suffix}", "shared": True}})
    assert r.status_code == 201, r.text
    net = r.json()["network"]["id"]
    r = mn.api("POST", "/subnets", service="network", json={"subnet": {
        "network_id": net, "cidr": "10.31.0.0/24", "ip_version": 4, "name": f"mn-{suffix}"}})
    assert r.status_code == 201, r.text
    return World(flavor, image, net)


def boot(mn: MultiNode, world: World, name: str, **extra: Any) -> str:
    r = mn.api("POST", "/servers", json=world.body(name, **extra))
    assert r.status_code == 202, r.text
    return r.json()["server"]["id"]
