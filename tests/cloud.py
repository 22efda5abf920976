"""A real `nubes up` in a subprocess for functional tests, and helpers to drive it with real clients."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests import openstack_cli

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Every cloud this process started and that may still be running: a failing test shows their logs.
STARTED: list[Cloud] = []


# Ports come from a block of this xdist worker's own, below the kernel's ephemeral range
# (32768 and up): a port the kernel hands out as 0 is also what any process's next outgoing
# connection may take, and what another worker's free_port() may hand out before we bind it.
_PORT_BASE, _PORT_END = 20000, 32768
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
_BLOCK = (_PORT_END - _PORT_BASE) // 16
_next_port = itertools.count()


def free_port() -> int:
    start = _PORT_BASE + (_WORKER % 16) * _BLOCK
    for _ in range(_BLOCK):
        port = start + next(_next_port) % _BLOCK
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {start}..{start + _BLOCK - 1}")


@dataclass
class Cloud:
    state_dir: Path
    ports: dict[str, int]
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def auth_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['identity']}/v3"

    def url(self, service: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[service]}{path}"

    @property
    def clouds(self) -> dict[str, Any]:
        return yaml.safe_load((self.state_dir / "clouds.yaml").read_text())["clouds"]

    @property
    def admin_password(self) -> str:
        return self.clouds["nubes"]["auth"]["password"]

    def client_env(self, cloud: str = "nubes", **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env.update(OS_CLIENT_CONFIG_FILE=str(self.state_dir / "clouds.yaml"), OS_CLOUD=cloud)
        env.update(extra)
        return env

    def osc(self, *args: str, cloud: str = "nubes", env: dict[str, str] | None = None,
            check: bool = True, json_out: bool = True) -> Any:
        """Run the real `openstack` CLI (in this process, see tests/openstack_cli.py); parse -f json
        output. With ``check=False``, the CompletedProcess, as from a subprocess."""
        argv = [*args, "-f", "json"] if json_out else list(args)
        return _osc_result(openstack_cli.run(argv, env or self.client_env(cloud)), args, check, json_out)

    def osc_binary(self, *args: str, cloud: str = "nubes", env: dict[str, str] | None = None,
                   check: bool = True, json_out: bool = True) -> Any:
        """The same, through the installed `openstack` executable in a new process, as a shell runs it."""
        cmd = [str(VENV_BIN / "openstack"), *args, *(["-f", "json"] if json_out else [])]
        res = subprocess.run(cmd, env=env or self.client_env(cloud), capture_output=True, text=True,
                             timeout=120)
        return _osc_result(res, args, check, json_out)

    def token(self, cloud: str = "nubes") -> str:
        auth = self.clouds[cloud]["auth"]
        scope: dict[str, Any] = ({"system": {"all": True}} if auth.get("system_scope")
                                 else {"project": {"name": auth["project_name"], "domain": {"id": "default"}}})
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "domain": {"id": "default"}, "password": auth["password"]}}},
            "scope": scope}}
        r = httpx.post(f"{self.auth_url}/auth/tokens", json=body, timeout=30)
        assert r.status_code == 201, r.text
        return r.headers["x-subject-token"]


@dataclass
class User:
    """A user with ``role`` on a project of its own, made through the CLI: its clouds.yaml (cloud
    ``member``) for the CLI and a project-scoped token for raw HTTP."""

    cloud: Cloud
    project_id: str
    user_id: str
    name: str
    password: str
    project_name: str
    clouds_file: Path
    token: str

    def env(self) -> dict[str, str]:
        return self.cloud.client_env("member", OS_CLIENT_CONFIG_FILE=str(self.clouds_file))

    def osc(self, *args: str, **kw: Any) -> Any:
        return self.cloud.osc(*args, env=self.env(), **kw)


def new_user(cloud: Cloud, tmp: Path, role: str = "member") -> User:
    suffix = uuid.uuid4().hex[:8]
    project, user, password = f"p-{suffix}", f"u-{suffix}", "secret-" + suffix
    p = cloud.osc("project", "create", project)
    u = cloud.osc("user", "create", "--project", project, "--password", password, user)
    cloud.osc("role", "add", "--project", project, "--user", user, role, json_out=False)
    admin = cloud.clouds["nubes"]
    auth = {**admin["auth"], "username": user, "password": password, "project_name": project}
    path = tmp / f"clouds-{suffix}.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"member": {**admin, "auth": auth}}}))
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return User(cloud, p["id"], u["id"], user, password, project, path, r.headers["x-subject-token"])


def _osc_result(res: subprocess.CompletedProcess, args: tuple[str, ...], check: bool, json_out: bool) -> Any:
    if check and res.returncode != 0:
        raise AssertionError(f"openstack {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
    if not check:
        return res
    return json.loads(res.stdout) if json_out and res.stdout.strip() else res.stdout


def start_cloud(tmp: Path, services: str | None = None, extra_env: dict[str, str] | None = None,
                names: tuple[str, ...] = ("identity",), volume_driver: str = "fake") -> Cloud:
    """Start `nubes up` on free ports and wait until the ``names`` services answer. A port is free
    when chosen and taken when bound; another worker's cloud may take it in between, so a start
    that loses that race is tried again on new ports."""
    for attempt in range(3):
        try:
            return _start_once(tmp, services, extra_env, names, volume_driver)
        except _PortTaken:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


class _PortTaken(RuntimeError):
    pass


def _start_once(tmp: Path, services: str | None, extra_env: dict[str, str] | None,
                names: tuple[str, ...], volume_driver: str = "fake") -> Cloud:
    from nubes.services import SERVICE_MODULES

    # Every service gets a free port, also those the test does not wait for: a default
    # port may be held by another cloud a session-scoped fixture keeps running.
    ports = {name: free_port() for name in dict.fromkeys([*names, *SERVICE_MODULES])}
    env = dict(os.environ)
    env.update({f"NUBES_{n.upper()}__PORT": str(p) for n, p in ports.items()})
    ports["compute-metadata"] = free_port()
    env["NUBES_COMPUTE__METADATA_PORT"] = str(ports["compute-metadata"])
    ports["compute-novncproxy"], ports["compute-serialproxy"] = free_port(), free_port()
    env["NUBES_COMPUTE__NOVNCPROXY_PORT"] = str(ports["compute-novncproxy"])
    env["NUBES_COMPUTE__SERIALPROXY_PORT"] = str(ports["compute-serialproxy"])
    for server in ("object-server", "container-server", "account-server"):   # object storage's
        ports[server] = free_port()
        env[f"NUBES_OBJECT__{server.split('-')[0].upper()}_PORT"] = str(ports[server])
    # Tests keep bcrypt cheap; the benchmark uses Keystone's default cost.
    env.setdefault("NUBES_IDENTITY__PASSWORD_HASH_ROUNDS", "4")
    # Test clouds leave the machine's kernel alone (as root `nubes up` would run the network data
    # plane there); tests/functional/network_dataplane runs the agents in namespaces of its own.
    env.setdefault("NUBES_NETWORK__DATAPLANE", "off")
    # ... and run fake guests unless a test asks for the qemu driver (as root, "auto" would pick it).
    env.setdefault("NUBES_COMPUTE__DRIVER", "fake")
    # ... and keep volumes in the fake (in-memory) backend unless a test names another driver.
    env.setdefault("NUBES_VOLUME__DRIVER", volume_driver)
    env.update(extra_env or {})
    cloud = Cloud(state_dir=tmp, ports=ports, env=env, log_path=tmp / "nubes.log")
    cmd = [sys.executable, "-m", "nubes.cli", "up", "--state-dir", str(tmp)]
    if services:
        cmd += ["--services", services]
    log = open(cloud.log_path, "a")     # a restart on the same state directory keeps the earlier log
    mark = log.tell()
    cloud.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    STARTED.append(cloud)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if cloud.proc.poll() is not None:
            text = cloud.log_path.read_text(errors="replace")
            # uvicorn's bind error, or the launcher's own check before it binds
            if "already in use" in text[mark:]:
                raise _PortTaken(f"nubes up lost a port to another process:\n{text[mark:]}")
            raise RuntimeError(f"nubes up exited early:\n{text}")
        # On a restart the old clouds.yaml is there until the new process writes its ports in.
        if _written_for(tmp / "clouds.yaml", cloud.auth_url):
            try:
                if all(httpx.get(cloud.url(n, "/healthcheck"), timeout=1).status_code == 200
                       for n in names):
                    return cloud
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    stop_cloud(cloud)
    raise RuntimeError(f"nubes up did not become ready:\n{cloud.log_path.read_text()}")


def _written_for(clouds_yaml: Path, auth_url: str) -> bool:
    try:
        return auth_url in clouds_yaml.read_text()
    except OSError:
        return False


def stop_cloud(cloud: Cloud) -> None:
    if cloud.proc and cloud.proc.poll() is None:
        cloud.proc.send_signal(signal.SIGTERM)
        try:
            cloud.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cloud.proc.kill()
            cloud.proc.wait()
