"""A lab for the data-plane agents: an in-process network service, "nodes" and "instances" as network
namespaces this test makes (and always removes), and the agents of each node running in this process.

Each node is a namespace standing in for a host's root namespace (the agents' ``netns``); an
instance is a namespace whose ``eth0`` (with its port's MAC) is the peer of a ``tap<port[:11]>``
device in its node, as the compute driver makes it. A provider "interface" is a veth from a node
into a namespace playing the provider network's router (203.0.113.1). Traffic stays between
these namespaces. Root only (marked ``root``); skipped when the tools are missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from nubes.network.agent import firewall
from nubes.network.agent.base import AgentSettings
from nubes.network.agent.linux import netns
from nubes.network.agent.runner import AgentRunner, preflight
from tests.functional.network import inprocess

HERE = Path(__file__).parent
NETCHECK = str(HERE / "netcheck.py")
UDHCPC = str(HERE / "udhcpc.sh")
NEEDED = ("ip", "nft", "dnsmasq", "busybox", "sysctl")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the data plane tests need root"
    missing = [t for t in NEEDED if shutil.which(t) is None]
    if missing:
        return f"missing programs: {', '.join(missing)} (scripts/setup.sh installs them)"
    reasons = preflight(["l2", "dhcp", "l3", "metadata"])
    return "; ".join(reasons) if reasons else None


def sh(*argv: str, ns: str | None = None, check: bool = True, timeout: float = 30, **kw: Any) -> subprocess.CompletedProcess:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(argv)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr or res.stdout}")
    return res


async def ash(*argv: str, ns: str | None = None, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(sh, *argv, ns=ns, check=check, timeout=timeout)


async def wait_for(what: str, probe: Any, timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Await ``probe()`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class Lab:
    def __init__(self, tmp: Path) -> None:
        self.tag = uuid.uuid4().hex[:5]
        self.tmp = tmp
        self.namespaces: list[str] = []
        self.procs: list[subprocess.Popen] = []
        self.runners: dict[str, AgentRunner] = {}
        self.settings: dict[str, AgentSettings] = {}
        self.net: Any = None
        self.made: set[str] = set()       # the agents' namespaces this lab's networks and routers may get

    # -- namespaces and links ----------------------------------------------------------------
    def ns(self, role: str) -> str:
        name = f"nbt{self.tag}-{role}"
        if name not in self.namespaces:
            sh("ip", "netns", "add", name)
            self.namespaces.append(name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        return name

    def link(self, a: str, a_name: str, b: str, b_name: str, *, a_mac: str | None = None,
             b_mac: str | None = None) -> None:
        sh("ip", "-n", a, "link", "add", a_name, *(["address", a_mac] if a_mac else []), "type", "veth",
           "peer", "name", b_name, *(["address", b_mac] if b_mac else []), "netns", b)
        sh("ip", "-n", a, "link", "set", a_name, "up")
        sh("ip", "-n", b, "link", "set", b_name, "up")

    def address(self, ns: str, dev: str, cidr: str) -> None:
        sh("ip", "-n", ns, "addr", "add", cidr, "dev", dev)

    def instance(self, node: str, port: dict[str, Any], name: str) -> str:
        """An "instance" namespace plugged into ``node`` through ``tap<port[:11]>``, eth0 with the port's MAC."""
        vm = self.ns(name)
        self.link(self.ns(node), firewall.device_name(port["id"]), vm, "eth0", b_mac=port["mac_address"])
        return vm

    async def dhcp(self, vm: str, timeout: float = 20) -> dict[str, str]:
        lease = self.tmp / f"{vm}.lease"
        lease.unlink(missing_ok=True)
        env = {**os.environ, "LEASE_FILE": str(lease)}
        res = await asyncio.to_thread(subprocess.run, ["ip", "netns", "exec", vm, "busybox", "udhcpc", "-i", "eth0",
                                                       "-n", "-q", "-f", "-t", "10", "-T", "1", "-O", "staticroutes", "-s", UDHCPC],
                                      capture_output=True, text=True, timeout=timeout, env=env)
        assert lease.exists(), f"no DHCP lease in {vm}: {res.stdout} {res.stderr}"
        return dict(kv.split("=", 1) for kv in lease.read_text().split() if "=" in kv)

    def serve(self, ns: str, port: int, seconds: float = 120) -> None:
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, NETCHECK, "serve", str(port), str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "listening"

    def echo(self, ns: str, port: int, seconds: float = 120, udp: bool = False) -> None:
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, NETCHECK, "udp-echo" if udp else "echo",
                              str(port), str(seconds)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "listening"

    def stream(self, ns: str, host: str, port: int, seconds: float, udp: bool = False) -> subprocess.Popen:
        """One flow kept busy for ``seconds`` (to an ``echo`` server); its output says how it went."""
        p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, NETCHECK, "udp-stream" if udp else "stream",
                              host, str(port), str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        self.procs.append(p)
        assert p.stdout is not None
        first = p.stdout.readline().strip()
        assert first == "connected", f"stream to {host}:{port} from {ns}: {first} {p.stdout.read()}"
        return p

    async def connect(self, ns: str, host: str, port: int, timeout: float = 2) -> str | None:
        res = await ash(sys.executable, NETCHECK, "connect", host, str(port), str(timeout), ns=ns, check=False,
                        timeout=timeout + 10)
        return res.stdout.strip() if res.returncode == 0 else None

    async def get(self, ns: str, url: str, timeout: float = 5) -> str | None:
        res = await ash(sys.executable, NETCHECK, "get", url, str(timeout), ns=ns, check=False, timeout=timeout + 10)
        return res.stdout.strip() if res.returncode == 0 else None

    # -- agents --------------------------------------------------------------------------------
    async def start_agents(self, host: str, *, kinds: tuple[str, ...] = ("l2", "dhcp", "l3", "metadata"),
                           **overrides: Any) -> AgentRunner:
        settings = self.settings.get(host) or AgentSettings(
            host=host, state_path=Path("/run/nubes/test") / f"{self.tag}-{host}", netns=self.ns(host),
            resync_interval=10, report_interval=5, device_poll_interval=0.2, rpc_timeout=20)
        for key, value in overrides.items():
            setattr(settings, key, value)
        self.settings[host] = settings
        runner = AgentRunner(self.net.bus, settings, kinds)
        await runner.start()
        self.runners[host] = runner
        return runner

    async def stop_agents(self, host: str) -> None:
        runner = self.runners.pop(host, None)
        if runner is not None:
            await runner.stop()

    # -- the API ---------------------------------------------------------------------------------
    async def api(self, method: str, path: str, status: int | tuple[int, ...] = (200, 201, 204), **kw: Any) -> Any:
        r = await self.net.http.request(method, path, **kw)
        wanted = (status,) if isinstance(status, int) else status
        assert r.status_code in wanted, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    async def create(self, resource: str, collection: str | None = None, **body: Any) -> dict[str, Any]:
        made = await self.net.create(resource, collection, **body)
        if resource in ("network", "router"):
            self.made.add(("qdhcp-" if resource == "network" else "qrouter-") + made["id"])
        return made

    async def port_status(self, port_id: str) -> str:
        return (await self.api("GET", f"/ports/{port_id}"))["port"]["status"]

    async def wait_active(self, *port_ids: str, timeout: float = 30) -> None:
        async def all_active() -> bool:
            ports = (await self.api("GET", "/ports?fields=id&fields=status"))["ports"]
            status = {p["id"]: p["status"] for p in ports}
            return all(status.get(p) == "ACTIVE" for p in port_ids)
        await wait_for(f"ports {port_ids[:3]}... ACTIVE", all_active, timeout)

    # -- cleaning up -----------------------------------------------------------------------------
    async def close(self) -> None:
        for host in list(self.runners):
            with contextlib.suppress(Exception):
                await self.stop_agents(host)
        for p in self.procs:
            with contextlib.suppress(ProcessLookupError):
                p.kill()
            with contextlib.suppress(Exception):
                p.wait(timeout=5)
        present = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
        ours = sorted(self.made & present) + list(reversed(self.namespaces))
        for name in ours:
            for pid in netns.pids(name):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await asyncio.to_thread(subprocess.run, ["ip", "netns", "del", name], capture_output=True, timeout=30,
                                    check=False)
        for settings in self.settings.values():
            shutil.rmtree(settings.state_path, ignore_errors=True)
            with contextlib.suppress(OSError):
                settings.state_path.parent.rmdir()      # /run/nubes/test, when no other lab uses it
        if self.net is not None:
            await self.net.close()


@pytest.fixture
async def lab(tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    lab = Lab(tmp_path)
    lab.net = await inprocess.start(tmp_path, agent_down_time=60)
    try:
        yield lab
    finally:
        await lab.close()


async def provider_network(lab: Lab, external: bool = False) -> tuple[dict, dict]:
    net = await lab.create("network", name="provider", shared=True, **{
        "router:external": external, "provider:network_type": "flat", "provider:physical_network": "provider"})
    subnet = await lab.create("subnet", network_id=net["id"], cidr="203.0.113.0/24", ip_version=4,
                              gateway_ip="203.0.113.1",
                              allocation_pools=[{"start": "203.0.113.100", "end": "203.0.113.200"}])
    return net, subnet


def provider_side(lab: Lab, node: str) -> str:
    """The provider network's other end: a namespace holding 203.0.113.1, wired to ``node``'s eth1."""
    ext = lab.ns("ext")
    lab.link(lab.ns(node), "eth1", ext, "eth0")
    lab.address(ext, "eth0", "203.0.113.1/24")
    return ext


class MetadataServer:
    """Compute's metadata API as far as the proxy can tell: records each request (its method, path,
    body and lower-cased headers), answers JSON naming the instance; ``/missing`` is a 404."""

    def __init__(self) -> None:
        import http.server
        import json
        import threading

        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                seen.append({"method": self.command, "path": self.path, "body": body,
                             **{k.lower(): v for k, v in self.headers.items()}})
                out = json.dumps({"uuid": self.headers.get("X-Instance-ID")}).encode()
                self.send_response(200 if self.path != "/missing" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def metadata_server():
    server = MetadataServer()
    yield server
    server.close()
