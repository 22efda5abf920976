#!/usr/bin/env python3
"""Real instances: how long from the API call to ACTIVE and to "network ready", for 1 and 10
concurrent test guests, next to a bare QEMU boot of the same kernel and initramfs.

Starts one all-in-one `nubes up` as root with the qemu driver and the Linux data plane, a flat
provider network bridged to a veth into a namespace this script makes (203.0.113.1, the provider
network's router), registers the test guest (`nubes guest register`), then for each batch size:

  * creates the servers at once (raw ``POST /v2.1/servers``, one thread each) and records, per
    server, the time to ``ACTIVE`` and to the guest's ``nubes-guest: ready`` console line, which
    it prints after DHCP and the metadata read (it also checks it read its metadata);
  * deletes them and waits until they are gone.

The limit beside it, in the same run: ``qemu-system-x86_64`` booting the same kernel and
initramfs directly (same accelerator, memory and CPU count, no NIC: no DHCP wait), timed to its
``booted`` and ``ready`` console lines. Figures only; bounded in count and time; only loopback and
the script's own namespace are contacted; everything it makes is removed at the end.

    .venv/bin/python bench/instances_bench.py [--batches 1,10] [--json out.json]
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nubes.compute.guest import build  # noqa: E402
from tests.cloud import start_cloud, stop_cloud  # noqa: E402
from tests.dataplane_host import host_objects, scrub  # noqa: E402

PROVIDER_NS = "nbs-bench-prov"
UPLINK = "nbsbenchprov0"
MEMORY_MB = 256


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {res.stderr or res.stdout}")
    return res


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def bare_boot(files: build.GuestFiles, accel: str) -> dict[str, float]:
    """The same kernel and initramfs straight under QEMU: seconds to its booted and ready lines."""
    with tempfile.TemporaryDirectory(prefix="nubes-bench-bare-") as tmp:
        console = Path(tmp) / "console.log"
        cmd = ["qemu-system-x86_64", "-accel", accel, "-m", str(MEMORY_MB), "-smp", "1", "-display", "none",
               "-nodefaults", "-no-user-config", "-serial", f"file:{console}", "-kernel", str(files.kernel),
               "-initrd", str(files.initramfs), "-append", "console=ttyS0 quiet", "-nic", "none"]
        started = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen: dict[str, float] = {}
        try:
            while time.monotonic() - started < 120 and "ready" not in seen:
                text = console.read_text(errors="replace") if console.exists() else ""
                for word in build.console_markers(text):
                    seen.setdefault(word, time.monotonic() - started)
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait()
    return seen


class Api:
    def __init__(self, cloud) -> None:
        self.cloud = cloud
        self.token = cloud.token()
        self.http = httpx.Client(timeout=60, headers={"X-Auth-Token": self.token,
                                                      "OpenStack-API-Version": "compute 2.96"})
        self.url = cloud.url("compute") + "/v2.1"

    def post(self, path: str, body: dict) -> httpx.Response:
        return self.http.post(self.url + path, json=body)

    def get(self, path: str) -> httpx.Response:
        return self.http.get(self.url + path)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(self.url + path)


def boot_batch(api: Api, n: int, image: str, flavor: str, network: str, sg: str) -> list[dict]:
    ud = base64.b64encode(b"#!/bin/sh\necho bench\n").decode()
    results: list[dict] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def one(i: int) -> None:
        barrier.wait()
        t0 = time.monotonic()
        r = api.post("/servers", {"server": {"name": f"bench-{n}-{i}", "imageRef": image, "flavorRef": flavor,
                                             "networks": [{"uuid": network}], "key_name": "bench-key",
                                             "security_groups": [{"name": sg}], "user_data": ud}})
        r.raise_for_status()
        sid = r.json()["server"]["id"]
        out = {"id": sid, "create_s": time.monotonic() - t0}
        deadline = t0 + 300
        while time.monotonic() < deadline:
            s = api.get(f"/servers/{sid}").json()["server"]
            if s["status"] in ("ACTIVE", "ERROR"):
                out["active_s"] = time.monotonic() - t0
                out["status"] = s["status"]
                out["fault"] = (s.get("fault") or {}).get("message")
                break
            time.sleep(0.1)
        while out.get("status") == "ACTIVE" and time.monotonic() < deadline:
            text = api.post(f"/servers/{sid}/action", {"os-getConsoleOutput": {}}).json().get("output") or ""
            markers = build.console_markers(text)
            if "ready" in markers:
                out["ready_s"] = time.monotonic() - t0
                out["metadata"] = markers.get("metadata")
                out["dhcp"] = markers.get("dhcp")
                break
            time.sleep(0.2)
        with lock:
            results.append(out)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, range(n)))
    for r in results:
        api.delete(f"/servers/{r['id']}")
    deadline = time.monotonic() + 180
    for r in results:
        while time.monotonic() < deadline and api.get(f"/servers/{r['id']}").status_code != 404:
            time.sleep(0.2)
    return results


def setup_provider() -> None:
    sh("ip", "netns", "add", PROVIDER_NS)
    sh("ip", "link", "add", UPLINK, "type", "veth", "peer", "name", "eth0", "netns", PROVIDER_NS)
    sh("ip", "link", "set", UPLINK, "up")
    sh("ip", "-n", PROVIDER_NS, "addr", "add", "203.0.113.1/24", "dev", "eth0")
    sh("ip", "-n", PROVIDER_NS, "link", "set", "eth0", "up")


def teardown_provider() -> None:
    sh("ip", "link", "del", UPLINK, check=False)
    sh("ip", "netns", "del", PROVIDER_NS, check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", default="1,10")
    ap.add_argument("--json")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("instances_bench: needs root (QEMU taps, bridges, namespaces)")
        return 2
    from nubes.compute.drivers.qemu import host as qemu_host

    if any(ln.split()[0].startswith(("brq", "tap")) for ln in sh("ip", "-br", "link").stdout.splitlines()):
        print("instances_bench: another cloud's data plane runs on this host (brq/tap devices); stop it first")
        return 2
    batches = [int(b) for b in args.batches.split(",")]
    if max(batches) > 20:
        print("instances_bench: at most 20 instances at once here")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="nubes-bench-instances-"))
    agent_dir = Path(f"/run/nubes-bench-{uuid.uuid4().hex[:8]}")
    report: dict = {"batches": {}}
    before = host_objects()
    setup_provider()
    cloud = None
    try:
        (tmp / "state").mkdir()
        cloud = start_cloud(tmp / "state", services="identity,image,placement,network,compute",
                            names=("identity", "image", "placement", "network", "compute"),
                            extra_env={"NUBES_COMPUTE__DRIVER": "qemu", "NUBES_NETWORK__DATAPLANE": "on",
                                       "NUBES_NETWORK__PHYSICAL_INTERFACE_MAPPINGS": f"provider:{UPLINK}",
                                       "NUBES_NETWORK__AGENT_STATE_PATH": str(agent_dir),
                                       # 2 cores x 4 would refuse the tenth guest of a batch
                                       "NUBES_COMPUTE__CPU_ALLOCATION_RATIO": "16"})
        res = subprocess.run([sys.executable, "-m", "nubes.cli", "guest", "register", "--state-dir",
                              str(cloud.state_dir)], env=cloud.env, capture_output=True, text=True, timeout=300)
        if res.returncode:
            raise RuntimeError(res.stdout + res.stderr)
        osc = cloud.osc
        image = osc("image", "show", "nubes-test-guest")["id"]
        flavor = osc("flavor", "create", "--ram", str(MEMORY_MB), "--disk", "1", "--vcpus", "1", "bench.tiny")["id"]
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / "id")], check=True)
        osc("keypair", "create", "--public-key", str(tmp / "id.pub"), "bench-key")
        for q in ("--instances", "--cores", "--ram", "--ports"):
            osc("quota", "set", q, "-1", "admin", json_out=False)
        net = osc("network", "create", "--provider-network-type", "flat", "--provider-physical-network", "provider",
                  "--share", "bench-provider")["id"]
        osc("subnet", "create", "--network", net, "--subnet-range", "203.0.113.0/24", "--gateway", "203.0.113.1",
            "--allocation-pool", "start=203.0.113.100,end=203.0.113.200", "bench-provider-v4")
        sg = "default"
        accel = qemu_host.accelerator(cloud.state_dir).name
        files = build.build(tmp / "guest")
        bare = bare_boot(files, accel)
        report["bare_qemu"] = bare
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(batches)) as pool:
            report["bare_qemu_concurrent"] = {n: list(pool.map(lambda _i: bare_boot(files, accel), range(n)))
                                              for n in sorted(set(batches)) if n > 1}
        report["accelerator"] = accel
        api = Api(cloud)
        boot_batch(api, 1, image, flavor, net, sg)          # warms the image cache; not reported
        for n in batches:
            results = boot_batch(api, n, image, flavor, net, sg)
            report["batches"][f"{n}#{len(report['batches']) + 1}"] = results
    finally:
        if cloud is not None:
            stop_cloud(cloud)
        teardown_provider()
        scrub(before, agent_dir)
        shutil.rmtree(agent_dir, ignore_errors=True)
        if os.environ.get("NUBES_BENCH_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\naccelerator: {report['accelerator']}; {MEMORY_MB} MB, 1 vCPU guests; {os.cpu_count()} host cores")
    print(f"bare qemu-system-x86_64 boot of the same kernel+initramfs (no NIC): booted "
          f"{bare.get('booted', float('nan')):.2f}s, ready {bare.get('ready', float('nan')):.2f}s")
    for n, boots in report.get("bare_qemu_concurrent", {}).items():
        ready = [b["ready"] for b in boots if "ready" in b]
        print(f"bare qemu-system-x86_64, {n} at once: ready p50 {statistics.median(ready):.2f}s, "
              f"max {max(ready):.2f}s ({len(ready)}/{n})")
    print("| instances | create p50 | to ACTIVE p50 / max | to network ready p50 / max | metadata read |")
    print("|---:|---:|---:|---:|---:|")
    for label, results in report["batches"].items():
        n = len(results)
        ok = [r for r in results if "ready_s" in r]
        act = [r["active_s"] for r in results if "active_s" in r]
        rdy = [r["ready_s"] for r in ok]
        md = sum(1 for r in ok if r.get("metadata") == "metadata-service")
        print(f"| {n} (run {label.split('#')[1]}) | {statistics.median(r['create_s'] for r in results):.2f}s | "
              f"{statistics.median(act):.2f}s / {max(act):.2f}s | "
              + (f"{statistics.median(rdy):.2f}s / {max(rdy):.2f}s" if rdy else "—")
              + f" | {md}/{n} |")
        for r in results:
            if r.get("status") != "ACTIVE":
                print(f"  {r['id']}: {r.get('status')} {r.get('fault') or ''}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
