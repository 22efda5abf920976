"""What the server tests boot from, made through the real CLI once per module: a flavor, a
public image uploaded from a file, a shared network with a subnet, a key pair; and helpers
to wait for servers and to look at what they leave behind in network and placement."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.functional.compute.conftest import ComputeApi, unique


@dataclass
class World:
    flavor_id: str
    flavor_name: str
    image_id: str
    image_name: str
    network_id: str
    network_name: str
    key_name: str
    hosts: list[str]


def make_world(cloud: Any, tmp: Path) -> World:
    fl = cloud.osc("flavor", "create", "--ram", "512", "--disk", "1", "--vcpus", "1", unique("tiny"))
    img_file = tmp / "disk.raw"
    img_file.write_bytes(b"\0" * 4096)
    img = cloud.osc("image", "create", "--file", str(img_file), "--disk-format", "raw", "--container-format",
                    "bare", "--public", unique("img"))
    net = cloud.osc("network", "create", "--share", unique("net"))
    cloud.osc("subnet", "create", "--network", net["id"], "--subnet-range", "10.20.0.0/24", unique("sub"))
    key = tmp / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    kp = cloud.osc("keypair", "create", "--public-key", f"{key}.pub", unique("key"))
    return World(fl["id"], fl["name"], img["id"], img["name"], net["id"], net["name"], kp["name"],
                 wait_hosts(cloud))


def wait_hosts(cloud: Any, count: int = 3, timeout: float = 60) -> list[str]:
    """The compute hosts once ``count`` of them are up and in placement."""
    deadline = time.monotonic() + timeout
    hosts: list[str] = []
    while time.monotonic() < deadline:
        rows = cloud.osc("compute", "service", "list", "--service", "nova-compute")
        hosts = sorted(r["Host"] for r in rows if r["State"] == "up")
        rps = cloud.osc("resource", "provider", "list")
        if len(hosts) >= count and len(rps) >= count:
            return hosts
        time.sleep(1)
    raise AssertionError(f"only {hosts} compute hosts came up")


def boot_body(world: World, name: str, **extra: Any) -> dict[str, Any]:
    server = {"name": name, "flavorRef": world.flavor_id, "imageRef": world.image_id,
              "networks": [{"uuid": world.network_id}], **extra}
    return {"server": server}


def boot(api: ComputeApi, world: World, name: str | None = None, **extra: Any) -> str:
    """A server booted from the world's image, flavor and network, once ACTIVE."""
    r = api("POST", "/servers", json=boot_body(world, name or unique("srv"), **extra))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    assert wait_status(api, sid)["status"] == "ACTIVE"
    return sid


def action(api: ComputeApi, sid: str, body: dict[str, Any], version: str | None = None) -> httpx.Response:
    return api("POST", f"/servers/{sid}/action", json=body, version=version)


def settled(api: ComputeApi, sid: str, wanted: str, timeout: float = 30) -> dict[str, Any]:
    """The server once it shows ``wanted`` with no task under way."""
    deadline = time.monotonic() + timeout
    s: dict[str, Any] = {}
    while time.monotonic() < deadline:
        s = api("GET", f"/servers/{sid}").json()["server"]
        if s["status"] == wanted and s["OS-EXT-STS:task_state"] is None:
            return s
        time.sleep(0.2)
    raise AssertionError(f"server {sid} is {s.get('status')}/{s.get('OS-EXT-STS:task_state')}, not {wanted}")


def wait_status(api: ComputeApi, server_id: str, wanted: tuple[str, ...] = ("ACTIVE", "ERROR"),
                timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        r = api("GET", f"/servers/{server_id}")
        assert r.status_code == 200, r.text
        body = r.json()["server"]
        if body["status"] in wanted:
            return body
        time.sleep(0.3)
    raise AssertionError(f"server {server_id} stayed {body.get('status')} "
                         f"(task state {body.get('OS-EXT-STS:task_state')}); the cloud's log of it:\n"
                         + _log_of(api, server_id))


def _log_of(api: ComputeApi, server_id: str) -> str:
    """The cloud log's lines naming one server, with any tracebacks: what a stuck build tells."""
    path = getattr(api, "log_path", None)
    if path is None or not path.exists():
        return "(no log)"
    lines = path.read_text(errors="replace").splitlines()
    keep = [ln for ln in lines if server_id in ln or ln.startswith(("Traceback", "  File", "    ")) or "Error" in ln]
    return "\n".join(keep[-80:])


def wait_gone(api: ComputeApi, server_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if api("GET", f"/servers/{server_id}").status_code == 404:
            return
        time.sleep(0.3)
    raise AssertionError(f"server {server_id} was not deleted")


def ports_of(cloud: Any, token: str, server_id: str) -> list[dict[str, Any]]:
    r = httpx.get(cloud.url("network", f"/v2.0/ports?device_id={server_id}"), headers={"X-Auth-Token": token},
                  timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["ports"]


def allocations_of(cloud: Any, token: str, server_id: str) -> dict[str, Any]:
    r = httpx.get(cloud.url("placement", f"/allocations/{server_id}"),
                  headers={"X-Auth-Token": token, "OpenStack-API-Version": "placement 1.28"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["allocations"]


def delete_all(api: ComputeApi, ids: list[str]) -> None:
    for sid in ids:
        api("DELETE", f"/servers/{sid}")
    for sid in ids:
        wait_gone(api, sid)
