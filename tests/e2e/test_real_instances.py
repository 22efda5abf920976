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

import httpx
import pytest

from tests.cloud import REPO, start_cloud, stop_cloud
from tests.dataplane_host import host_objects as _host_objects
from tests.dataplane_host import scrub as _scrub

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
    # A run killed before its teardown leaves both behind; they are this test's own names.
    sh("ip", "link", "del", UPLINK, check=False)
    sh("ip", "netns", "del", PROVIDER_NS, check=False)
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


@pytest.fixture(scope="module")
def dedicated_real_cloud(tmp_path_factory, provider):
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
                               "NUBES_NETWORK__REPORT_INTERVAL": "5",
                               # 2 cores x 4 (Nova's ratio) would hold 8 of the 10 guests of a batch
                               "NUBES_COMPUTE__CPU_ALLOCATION_RATIO": "16"})
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


def _boot(cloud, name: str, network: str, sg: str, tmp: Path, user_data: str = USER_DATA
          ) -> tuple[dict, dict[str, str]]:
    ud = tmp / f"{name}.ud"
    ud.write_text(user_data)
    server = cloud.osc("server", "create", "--image", "nubes-test-guest", "--flavor", "e2e.tiny", "--network", network,
                       "--key-name", "e2e-key", "--security-group", sg, "--user-data", str(ud), "--wait", name)
    assert server["status"] == "ACTIVE", server
    console = _wait(lambda: _console(cloud, name), f"{name}'s 'ready' line on its console", timeout=180, interval=2)
    return server, console


NETCHECK = str(Path(__file__).resolve().parent.parent / "functional" / "network_dataplane" / "netcheck.py")


@pytest.fixture
def provider_server(provider):
    """A TCP server on the provider side (203.0.113.1:8080) answering with the peer's address."""
    proc = subprocess.Popen(["ip", "netns", "exec", PROVIDER_NS, sys.executable, NETCHECK, "serve", "8080", "600"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "listening"
    yield
    proc.kill()
    proc.wait()


def test_launch_on_provider_and_self_service_networks(dedicated_real_cloud, tmp_path, provider_server):
    cloud = dedicated_real_cloud
    osc = cloud.osc
    osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "e2e.tiny")
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    osc("keypair", "create", "--public-key", f"{key}.pub", "e2e-key")
    pub = (tmp_path / "id.pub").read_text().split()[1]
    project = osc("project", "show", "admin")["id"]
    sg = next(g["ID"] for g in osc("security", "group", "list", "--project", project) if g["Name"] == "default")
    web_rule = osc("security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "80", sg)
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
        assert console["user-data-ran"].strip() == "0 hello-from-user-data", console
        web = in_provider("busybox", "timeout", "10", "busybox", "wget", "-q", "-O", "-", f"http://{addr}/")
        assert web.returncode == 0 and "nubes test guest p1" in web.stdout, web.stderr
        port = osc("port", "list", "--server", "p1")[0]
        assert port["Status"] == "ACTIVE"

        # -- self-service network: metadata through the router, a floating IP from the provider side
        # its user data reaches the provider side, which sees the router's gateway address (SNAT)
        s1, console = _boot(cloud, "s1", selfnet["id"], sg, tmp_path,
                            user_data="#!/bin/sh\nnc 203.0.113.1 8080 </dev/null\n")
        assert console["dhcp"].startswith("eth0 172.16.1.") and console["hostname"] == "s1", console
        assert console["metadata"] == "metadata-service" and pub in console["ssh-key"], console
        gateway = osc("router", "show", "r1")["external_gateway_info"]["external_fixed_ips"][0]["ip_address"]
        assert console["user-data-ran"].strip() == f"0 peer={gateway}", console
        fip = osc("floating", "ip", "create", prov["id"])["floating_ip_address"]
        osc("server", "add", "floating", "ip", "s1", fip, json_out=False)
        web = _wait(lambda: (r := in_provider("busybox", "timeout", "5", "busybox", "wget", "-q", "-O", "-",
                                             f"http://{fip}/")).returncode == 0 and r, f"s1 at {fip}", timeout=60)
        assert "nubes test guest s1" in web.stdout

        # the security group rule closes the port again once it is gone
        osc("security", "group", "rule", "delete", web_rule["id"], json_out=False)
        _wait(lambda: in_provider("busybox", "timeout", "3", "busybox", "wget", "-q", "-O", "-",
                                  f"http://{addr}/").returncode != 0, "p1's port 80 to close", timeout=30)
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


def test_fifty_instances_created_and_deleted_leave_nothing(dedicated_real_cloud, tmp_path):
    cloud = dedicated_real_cloud
    osc = cloud.osc
    if not [f for f in osc("flavor", "list") if f["Name"] == "e2e.tiny"]:
        osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "e2e.tiny")
    net = osc("network", "create", "churn")
    osc("subnet", "create", "--network", net["id"], "--subnet-range", "172.16.9.0/24", "churn-v4")
    token = cloud.token()
    api = httpx.Client(base_url=cloud.url("compute", "/v2.1"), timeout=60,
                       headers={"X-Auth-Token": token, "OpenStack-API-Version": "compute 2.96"})
    image = osc("image", "show", "nubes-test-guest")["id"]
    flavor = next(f["ID"] for f in osc("flavor", "list") if f["Name"] == "e2e.tiny")
    statuses: list[str] = []
    try:
        for batch in range(5):
            ids = []
            for i in range(10):
                r = api.post("/servers", json={"server": {"name": f"churn-{batch}-{i}", "imageRef": image,
                                                          "flavorRef": flavor, "networks": [{"uuid": net["id"]}]}})
                assert r.status_code == 202, r.text
                ids.append(r.json()["server"]["id"])
            for sid in ids:
                body = _wait(lambda: (b := api.get(f"/servers/{sid}").json()["server"])["status"] in ("ACTIVE", "ERROR")
                             and b, f"server {sid} to leave BUILD", timeout=180, interval=0.5)
                statuses.append(body["status"] if body["status"] == "ACTIVE" else f"{body['status']}: {body.get('fault')}")
            for sid in ids:
                assert api.delete(f"/servers/{sid}").status_code == 204
            for sid in ids:
                _wait(lambda: api.get(f"/servers/{sid}").status_code == 404, f"server {sid} to be gone", timeout=120,
                      interval=0.5)
    finally:
        api.close()
    assert statuses == ["ACTIVE"] * 50
    instances = cloud.state_dir / "compute" / "instances"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _churn_leftovers(cloud.state_dir, instances):
        time.sleep(1)
    assert _churn_leftovers(cloud.state_dir, instances) == []
    assert osc("port", "list", "--network", net["id"], "--device-owner", "compute:nova") == []
    osc("network", "delete", net["id"], json_out=False)


def _churn_leftovers(state_dir: Path, instances: Path) -> list[str]:
    procs = sh("ps", "-eo", "pid,args").stdout.splitlines()
    left = [p for p in procs if "qemu-system" in p and str(state_dir) in p]
    left += [ln.split()[0] for ln in sh("ip", "-br", "link").stdout.splitlines() if ln.startswith("tap")
             and not _is_dhcp_tap(ln)]
    left += [f"disk {p.name}" for p in instances.iterdir()] if instances.exists() else []
    ruleset = sh("nft", "list", "ruleset").stdout
    left += [ln.strip() for ln in ruleset.splitlines() if "chain egress-tap" in ln or "chain ingress-tap" in ln]
    return left


def _is_dhcp_tap(line: str) -> bool:
    # the DHCP namespace's port is a veth whose host end is also tap<port>: "tapXXXX@ifN"
    return "@" in line.split()[0]


def test_a_guest_that_cannot_start_goes_to_error_and_leaves_nothing(dedicated_real_cloud, tmp_path):
    cloud = dedicated_real_cloud
    osc = cloud.osc
    if not [f for f in osc("flavor", "list") if f["Name"] == "e2e.tiny"]:
        osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "e2e.tiny")
    # Data that is not the disk it claims never gets into the image service ...
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(b"this is not a qcow2 disk" * 1000)
    res = osc("image", "create", "--file", str(bad), "--disk-format", "qcow2", "--container-format", "bare",
              "not-a-disk", check=False)
    assert res.returncode != 0 and "Image content does not match disk_format" in res.stderr, res.stderr
    assert [i for i in osc("image", "list") if i["Name"] == "not-a-disk"] == []
    # ... and an image the image service takes but this host cannot use (an encrypted qcow2: the
    # qemu driver has no key for it) fails the build with the driver's reason.
    sealed = tmp_path / "sealed.qcow2"
    sh("qemu-img", "create", "-q", "-f", "qcow2", str(sealed), "64M")
    data = bytearray(sealed.read_bytes())
    data[32:36] = (1).to_bytes(4, "big")                     # encryption method 1 (AES)
    sealed.write_bytes(bytes(data))
    osc("image", "create", "--file", str(sealed), "--disk-format", "qcow2", "--container-format", "bare",
        "sealed-disk")
    net = osc("network", "create", "bad-image-net")
    osc("subnet", "create", "--network", net["id"], "--subnet-range", "172.16.8.0/24", "bad-image-v4")
    try:
        res = osc("server", "create", "--image", "sealed-disk", "--flavor", "e2e.tiny", "--network", net["id"],
                  "--wait", "broken", check=False)
        assert res.returncode != 0                           # --wait reports the ERROR
        server = osc("server", "show", "broken")
        assert server["status"] == "ERROR", server
        assert "is encrypted, and there is no key" in server["fault"]["message"], server["fault"]
        _wait(lambda: osc("port", "list", "--network", net["id"], "--device-owner", "compute:nova") == [],
              "the failed server's port to be removed", timeout=30)
        assert _churn_leftovers(cloud.state_dir, cloud.state_dir / "compute" / "instances") == []
        images = cloud.state_dir / "compute" / "images"
        assert not [p for p in images.iterdir() if not p.name.endswith(".lock")
                    and p.name.startswith(osc("image", "show", "sealed-disk")["id"])]
        osc("server", "delete", "--wait", "broken", json_out=False)
    finally:
        osc("server", "delete", "broken", check=False, json_out=False)
        osc("network", "delete", net["id"], check=False, json_out=False)
        osc("image", "delete", "sealed-disk", check=False, json_out=False)
