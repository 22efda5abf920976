"""A real `nubes up` in a subprocess for functional tests, and helpers to drive it with real clients."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        """Run the real `openstack` CLI; parse -f json output."""
        cmd = [str(VENV_BIN / "openstack"), *args]
        if json_out:
            cmd += ["-f", "json"]
        res = subprocess.run(cmd, env=env or self.client_env(cloud), capture_output=True, text=True,
                             timeout=120)
        if check and res.returncode != 0:
            raise AssertionError(f"openstack {' '.join(args)} failed ({res.returncode}):\n{res.stderr}")
        if not check:
            return res
        return json.loads(res.stdout) if json_out and res.stdout.strip() else res.stdout

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


def start_cloud(tmp: Path, services: str | None = None, extra_env: dict[str, str] | None = None,
                names: tuple[str, ...] = ("identity",)) -> Cloud:
    from nubes.services import SERVICE_MODULES

    # Every service gets a free port, also those the test does not wait for: a default
    # port may be held by another cloud a session-scoped fixture keeps running.
    ports = {name: free_port() for name in dict.fromkeys([*names, *SERVICE_MODULES])}
    env = dict(os.environ)
    env.update({f"NUBES_{n.upper()}__PORT": str(p) for n, p in ports.items()})
    ports["compute-metadata"] = free_port()
    env["NUBES_COMPUTE__METADATA_PORT"] = str(ports["compute-metadata"])
    # Tests keep bcrypt cheap; the benchmark uses Keystone's default cost.
    env.setdefault("NUBES_IDENTITY__PASSWORD_HASH_ROUNDS", "4")
    # Test clouds leave the machine's kernel alone (as root `nubes up` would run the network data
    # plane there); tests/functional/network_dataplane runs the agents in namespaces of its own.
    env.setdefault("NUBES_NETWORK__DATAPLANE", "off")
    # ... and run fake guests unless a test asks for the qemu driver (as root, "auto" would pick it).
    env.setdefault("NUBES_COMPUTE__DRIVER", "fake")
    env.update(extra_env or {})
    cloud = Cloud(state_dir=tmp, ports=ports, env=env, log_path=tmp / "nubes.log")
    cmd = [sys.executable, "-m", "nubes.cli", "up", "--state-dir", str(tmp)]
    if services:
        cmd += ["--services", services]
    log = open(cloud.log_path, "w")
    cloud.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if cloud.proc.poll() is not None:
            raise RuntimeError(f"nubes up exited early:\n{cloud.log_path.read_text()}")
        if (tmp / "clouds.yaml").exists():
            try:
                if all(httpx.get(cloud.url(n, "/healthcheck"), timeout=1).status_code == 200
                       for n in names):
                    return cloud
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    stop_cloud(cloud)
    raise RuntimeError(f"nubes up did not become ready:\n{cloud.log_path.read_text()}")


def stop_cloud(cloud: Cloud) -> None:
    if cloud.proc and cloud.proc.poll() is None:
        cloud.proc.send_signal(signal.SIGTERM)
        try:
            cloud.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            cloud.proc.kill()
            cloud.proc.wait()
