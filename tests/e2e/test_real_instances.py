"""The installation guide's "launch an instance", for real: `nubes up` as root with the qemu driver
and the Linux data plane, the test guest registered by `nubes guest register`, driven by the
`openstack` CLI.

- Provider network: a flat network bridged to a veth whose far end, in a namespace this test
  makes, plays the provider network's router (203.0.113.1). The guest gets its address by DHCP,
  reads its metadata (hostname, SSH key, user data) through the DHCP namespace's proxy, and
  answers HTTP from the provider side through its security group.
- Self-service network: a VXLAN network behind a router with its gateway on the provider network;
  the guest reads its metadata through the router's proxy and is reachable at a floating IP.
- Deleting it all leaves no QEMU, dnsmasq, namespace, bridge, tap or nftables table behind.

Root only, and only where QEMU and the data-plane tools are installed (scripts/setup.sh does it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.cloud import REPO, start_cloud, stop_cloud

pytestmark = pytest.mark.root

PROVIDER_NS = "nbs-e2e-prov"
UPLINK = "nbse2eprov0"
USER_DATA = "#!/bin/sh\necho hello-from-user-data\n"


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (QEMU taps, bridges, namespaces)"
    missing = [t for t in ("ip", "nft", "dnsmasq", "busybox", "qemu-system-x86_64", "qemu-img") if not shutil.which(t)]
    if missing:
        return f"missing programs: {', '.join(missing)} (scripts/setup.sh installs them)"
    from nubes.compute.drivers.qemu import usable
    from nubes.network.agent.runner import preflight

    ok, why = usable()
    if not ok:
        return f"the qemu driver cannot run here: {why}"
    reasons = preflight(["l2", "dhcp", "l3", "metadata"])
    return "; ".join(reasons) if reasons else None


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {res.stderr or res.stdout}")
    return res


def in_provider(*argv: str, timeout: float = 15) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", PROVIDER_NS, *argv], capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="module")
def provider():
    """The provider network's far side: a namespace with 203.0.113.1 on a veth into this host."""
    sh("ip", "netns", "add", PROVIDER_NS)
    try:
        sh("ip", "link", "add", UPLINK, "type", "veth", "peer", "name", "eth0", "netns", PROVIDER_NS)
        sh("ip", "link", "set", UPLINK, "up")
        sh("ip", "-n", PROVIDER_NS, "addr", "add", "203.0.113.1/24", "dev", "eth0")
        sh("ip", "-n", PROVIDER_NS, "link", "set", "eth0", "up")
        sh("ip", "-n", PROVIDER_NS, "link", "set", "lo", "up")
        yield
    finally:
        sh("ip", "link", "del", UPLINK, check=False)
        sh("ip", "netns", "del", PROVIDER_NS, check=False)


def _leftovers(state_dir: Path, networks: list[str]) -> list[str]:
    left = []
    procs = sh("ps", "-eo", "pid,args").stdout.splitlines()
    left += [p for p in procs if "qemu-system" in p and str(state_dir) in p]
    left += [p for p in procs if "dnsmasq" in p and any(n in p for n in networks)]
    namespaces = sh("ip", "netns", "list").stdout
    left += [f"namespace {n}" for n in networks if n in namespaces]
    links = sh("ip", "-br", "link").stdout.splitlines()
    left += [ln.split()[0] for ln in links if ln.startswith(("brq", "tap", "vxlan-"))]
    left += [t for t in sh("nft", "list", "tables").stdout.splitlines() if "nubes" in t]
    return left


def _host_objects() -> set[str]:
    links = {ln.split()[0].split("@")[0] for ln in sh("ip", "-br", "link").stdout.splitlines()}
    namespaces = {ln.split()[0] for ln in sh("ip", "netns", "list").stdout.splitlines() if ln.strip()}
    tables = {" ".join(ln.split()[1:3]) for ln in sh("nft", "list", "tables").stdout.splitlines() if ln.strip()}
    return ({f"link {n}" for n in links if n.startswith(("brq", "tap", "vxlan-"))}
            | {f"netns {n}" for n in namespaces if n.startswith(("qdhcp-", "qrouter-"))}
            | {f"table {t}" for t in tables if "nubes" in t})


def _scrub(before: set[str], agent_dir: Path) -> None:
    """What the agents made and left (stopped agents leave the data plane up, on purpose: a
    restart must not cut traffic); the test removes it so a failure does not leak onto the host."""
    for line in sh("ps", "-eo", "pid,args").stdout.splitlines():
        if "dnsmasq" in line and str(agent_dir) in line:
            sh("kill", line.split()[0], check=False)
    for obj in sorted(_host_objects() - before):
        kind, name = obj.split(" ", 1)
        if kind == "netns":
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                sh("kill", "-9", pid, check=False)
            sh("ip", "netns", "del", name, check=False)
        elif kind == "link":
            sh("ip", "link", "del", name, check=False)
        else:
            sh("nft", "delete", "table", *name.split(), check=False)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory, provider):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    if any(ln.startswith(("brq", "tap")) for ln in sh("ip", "-br", "link").stdout.splitlines()):
        pytest.skip("another cloud's data plane is running on this host (brq/tap devices present)")
    tmp = tmp_path_factory.mktemp("real-state")
    # dnsmasq reads its hosts file as "nobody": not under pytest's 0700 temporary directories
    agent_dir = Path(f"/run/nubes-e2e-{uuid.uuid4().hex[:8]}")
    before = _host_objects()
    c = start_cloud(tmp, services="identity,image,placement,network,compute",
                    names=("identity", "image", "placement", "network", "compute"),
                    extra_env={"NUBES_COMPUTE__DRIVER": "qemu", "NUBES_NETWORK__DATAPLANE": "on",
                               "NUBES_NETWORK__PHYSICAL_INTERFACE_MAPPINGS": f"provider:{UPLINK}",
                               "NUBES_NETWORK__AGENT_STATE_PATH": str(agent_dir),
                               "NUBES_NETWORK__REPORT_INTERVAL": "5"})
    try:
        res = subprocess.run([sys.executable, "-m", "nubes.cli", "guest", "register", "--state-dir", str(tmp)],
                             env=c.env, capture_output=True, text=True, timeout=300, cwd=REPO)
        assert res.returncode == 0, res.stdout + res.stderr
        _wait(lambda: c.osc("hypervisor", "list"), "the qemu compute host")
        yield c
    finally:
        stop_cloud(c)
        _scrub(before, agent_dir)
        shutil.rmtree(agent_dir, ignore_errors=True)


def _wait(probe, what: str, timeout: float = 120, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what}: not there after {timeout:.0f}s")


def _console(cloud, server: str) -> dict[str, str]:
    from nubes.compute.guest.build import MARKER

    text = cloud.osc("console", "log", "show", server, json_out=False)
    lines = {}
    for line in text.splitlines():
        if line.startswith(MARKER):
            word, _, rest = line[len(MARKER):].strip().partition(" ")
            lines[word] = rest
    return lines if "ready" in lines else {}


def _boot(cloud, name: str, network: str, sg: str, tmp: Path) -> tuple[dict, dict[str, str]]:
    ud = tmp / f"{name}.ud"
    ud.write_text(USER_DATA)
    server = cloud.osc("server", "create", "--image", "nubes-test-guest", "--flavor", "e2e.tiny", "--network", network,
                       "--key-name", "e2e-key", "--security-group", sg, "--user-data", str(ud), "--wait", name)
    assert server["status"] == "ACTIVE", server
    console = _wait(lambda: _console(cloud, name), f"{name}'s 'ready' line on its console", timeout=180, interval=2)
    return server, console


def test_launch_on_provider_and_self_service_networks(cloud, tmp_path):
    osc = cloud.osc
    osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "e2e.tiny")
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    osc("keypair", "create", "--public-key", f"{key}.pub", "e2e-key")
    pub = (tmp_path / "id.pub").read_text().split()[1]
    project = osc("project", "show", "admin")["id"]
    sg = next(g["ID"] for g in osc("security", "group", "list", "--project", project) if g["Name"] == "default")
    osc("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", sg)
    prov = osc("network", "create", "--provider-network-type", "flat", "--provider-physical-network", "provider",
               "--external", "--share", f"prov-{uuid.uuid4().hex[:6]}")
    osc("subnet", "create", "--network", prov["id"], "--subnet-range", "203.0.113.0/24", "--gateway", "203.0.113.1",
        "--allocation-pool", "start=203.0.113.100,end=203.0.113.200", "provider-v4")
    selfnet = osc("network", "create", "selfservice")
    assert selfnet["provider:network_type"] == "vxlan"
    osc("subnet", "create", "--network", selfnet["id"], "--subnet-range", "172.16.1.0/24", "selfservice-v4")
    osc("router", "create", "r1")
    osc("router", "set", "--external-gateway", prov["id"], "r1", json_out=False)
    osc("router", "add", "subnet", "r1", "selfservice-v4", json_out=False)
    networks = [prov["id"], selfnet["id"]]
    try:
        # -- provider network: DHCP, metadata through the DHCP namespace, reachable on its address
        p1, console = _boot(cloud, "p1", prov["id"], sg, tmp_path)
        (addr,) = [a for a in p1["addresses"][prov["name"]]]
        assert console["dhcp"] == f"eth0 {addr}", console
        assert console["metadata"] == "metadata-service" and console["hostname"] == "p1", console
        assert pub in console["ssh-key"] and "hello-from-user-data" in console["user-data"], console
        web = in_provider("busybox", "timeout", "10", "busybox", "wget", "-q", "-O", "-", f"http://{addr}/")
        assert web.returncode == 0 and "nubes test guest p1" in web.stdout, web.stderr
        port = osc("port", "list", "--server", "p1")[0]
        assert port["Status"] == "ACTIVE"

        # -- self-service network: metadata through the router, a floating IP from the provider side
        s1, console = _boot(cloud, "s1", selfnet["id"], sg, tmp_path)
        assert console["dhcp"].startswith("eth0 172.16.1.") and console["hostname"] == "s1", console
        assert console["metadata"] == "metadata-service" and pub in console["ssh-key"], console
        fip = osc("floating", "ip", "create", prov["id"])["floating_ip_address"]
        osc("server", "add", "floating", "ip", "s1", fip, json_out=False)
        web = _wait(lambda: (r := in_provider("busybox", "timeout", "5", "busybox", "wget", "-q", "-O", "-",
                                             f"http://{fip}/")).returncode == 0 and r, f"s1 at {fip}", timeout=60)
        assert "nubes test guest s1" in web.stdout
    finally:
        for name in ("p1", "s1"):
            osc("server", "delete", "--wait", name, check=False, json_out=False)
        for f in osc("floating", "ip", "list"):
            osc("floating", "ip", "delete", f["ID"], json_out=False)
        osc("router", "remove", "subnet", "r1", "selfservice-v4", check=False, json_out=False)
        osc("router", "delete", "r1", check=False, json_out=False)
        osc("network", "delete", *networks, check=False, json_out=False)
    deadline = time.monotonic() + 30
    while _leftovers(cloud.state_dir, networks) and time.monotonic() < deadline:
        time.sleep(1)
    assert _leftovers(cloud.state_dir, networks) == []
