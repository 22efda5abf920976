#!/usr/bin/env python3
"""Compute: booting 500 then 5,000 servers on 50 fake hosts, and listing them.

Starts one all-in-one `nubes up` (identity, image, placement, network, compute; SQLite, the
in-process bus) with 50 fake hosts (``--hosts``) sized so that every server of the run fits
(32 VCPUs × 4, 32 GB, 1 TB each: 128 tiny servers per host, 6,400 in all), a tiny flavor
(1 VCPU, 128 MB, 1 GB), a public raw image and a shared network with a /16 subnet; quotas are
lifted for the admin project. The network's Linux data plane is off (fake guests have no taps
to wire; it would measure bridges and dnsmasq, not compute). Then:

  * boot: ``--first`` (500) servers at concurrency ``--concurrency`` (50), raw HTTP
    ``POST /v2.1/servers`` each with the network; the time until all are ACTIVE, the create
    call's latency (p50/p99) and each server's time to ACTIVE (p50/p99: from just before its
    POST to its ``OS-SRV-USG:launched_at``, which the agent stamps as the build ends);
  * grow: the same up to ``--total`` (5,000) servers, bounded by ``--grow-max-s`` (when the
    bound stops it, how far it got is printed);
  * list: ``GET /servers/detail`` (default page, 1,000 of them, and ``limit=1000``),
    ``GET /servers?name=<one name>``, sequentially, p50/p99;
  * the resident memory of the `nubes up` process.

Figures only, never pass/fail; only 127.0.0.1 is contacted and every phase is bounded.

Upstream Nova is not measured beside it; "Compute" in bench/README.md says why (in short: the
same workload needs upstream Neutron and Glance too, which have no recipe in /work/shared/peers,
and Nova's fake driver is one host per nova-compute process: 50 of them on 2 cores).

    .venv/bin/python bench/compute_bench.py [--first 500] [--total 5000] [--concurrency 50]
        [--hosts 50] [--grow-max-s 1500] [--json out.json] [--profile DIR]

``--profile DIR`` records the server with py-spy (if installed: ``pip install py-spy``) during
the boot phase into DIR/boot.svg.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SERVICES = ("identity", "image", "placement", "network", "compute")
VERSION = {"OpenStack-API-Version": "compute 2.96"}


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def ms(values: list[float], p: float) -> float:
    return round(pct(values, p) * 1000.0, 1)


class Bench:
    def __init__(self, cloud, token: str) -> None:
        self.cloud = cloud
        h = {"X-Auth-Token": token}
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        self.compute = httpx.AsyncClient(base_url=cloud.url("compute", "/v2.1"), headers={**h, **VERSION},
                                         timeout=httpx.Timeout(600), limits=limits)
        self.other = httpx.AsyncClient(headers=h, timeout=httpx.Timeout(120))
        self.started: dict[str, float] = {}         # server id -> wall clock just before its POST
        self.names: list[str] = []
        self.create_lat: list[float] = []
        self.create_errors: list[str] = []

    async def close(self) -> None:
        await self.compute.aclose()
        await self.other.aclose()

    async def world(self, project_id: str) -> dict[str, str]:
        c, o = self.compute, self.other
        for path, body in (("/os-quota-sets/" + project_id,
                            {"quota_set": {"instances": -1, "cores": -1, "ram": -1}}),):
            r = await c.put(path, json=body)
            r.raise_for_status()
        r = await c.post("/flavors", json={"flavor": {"name": "bench.tiny", "ram": 128, "vcpus": 1, "disk": 1}})
        r.raise_for_status()
        flavor = r.json()["flavor"]["id"]
        img_url = self.cloud.url("image", "/v2/images")
        r = await o.post(img_url, json={"name": "bench", "disk_format": "raw", "container_format": "bare",
                                        "visibility": "public"})
        r.raise_for_status()
        image = r.json()["id"]
        r = await o.put(f"{img_url}/{image}/file", content=b"\0" * 65536,
                        headers={"Content-Type": "application/octet-stream"})
        r.raise_for_status()
        net_url = self.cloud.url("network", "/v2.0")
        r = await o.post(f"{net_url}/networks", json={"network": {"name": "bench", "shared": True}})
        r.raise_for_status()
        net = r.json()["network"]["id"]
        r = await o.post(f"{net_url}/subnets", json={"subnet": {"network_id": net, "ip_version": 4,
                                                                "cidr": "10.64.0.0/16", "name": "bench"}})
        r.raise_for_status()
        return {"flavor": flavor, "image": image, "network": net}

    async def wait_hosts(self, n: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        up = 0
        while time.monotonic() < deadline:
            r = await self.compute.get("/os-hypervisors")
            hv = r.json().get("hypervisors", []) if r.status_code == 200 else []
            up = sum(1 for h in hv if h.get("state") == "up")
            rps = await self.other.get(self.cloud.url("placement", "/resource_providers"),
                                       headers={"OpenStack-API-Version": "placement 1.20"})
            count = len(rps.json().get("resource_providers", [])) if rps.status_code == 200 else 0
            if up >= n and count >= n:
                return up
            await asyncio.sleep(1)
        return up

    async def boot(self, world: dict[str, str], n: int, concurrency: int, max_s: float) -> dict:
        """Create n servers at ``concurrency``; wait (within max_s) until none is building."""
        lat: list[float] = []
        errors: list[str] = []
        ids: list[str] = []
        todo = iter(range(n))
        t0 = time.perf_counter()
        deadline = t0 + max_s

        async def worker() -> None:
            for _ in todo:
                if time.perf_counter() > deadline:
                    return
                name = f"bench-{uuid.uuid4().hex[:12]}"
                body = {"server": {"name": name, "flavorRef": world["flavor"], "imageRef": world["image"],
                                   "networks": [{"uuid": world["network"]}]}}
                wall = time.time()
                s0 = time.perf_counter()
                try:
                    r = await self.compute.post("/servers", json=body)
                except httpx.HTTPError as exc:
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                lat.append(time.perf_counter() - s0)
                if r.status_code != 202:
                    errors.append(f"{r.status_code} {r.text[:160]}")
                    continue
                sid = r.json()["server"]["id"]
                self.started[sid] = wall
                self.names.append(name)
                ids.append(sid)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        created_s = time.perf_counter() - t0
        building = await self._wait_built(ids, deadline)
        wall = time.perf_counter() - t0
        self.create_lat += lat
        self.create_errors += errors
        return {"requested": n, "created": len(ids), "create_errors": len(errors), "error_samples": errors[:3],
                "create_s": round(created_s, 1), "create_p50_ms": ms(lat, 50), "create_p99_ms": ms(lat, 99),
                "still_building": building, "all_done_s": round(wall, 1),
                "creates_per_s": round(len(ids) / created_s, 1) if created_s else None, "ids": ids}

    async def _wait_built(self, ids: list[str], deadline: float) -> int:
        """Poll until no server of the run is building (or the deadline); how many still are."""
        left = len(ids)
        while time.perf_counter() < deadline:
            left = len(await self._ids("/servers?status=BUILD&limit=1000"))
            if left == 0:
                return 0
            await asyncio.sleep(0.5)
        return left

    async def _ids(self, path: str) -> list[str]:
        out: list[str] = []
        while path:
            r = await self.compute.get(path)
            r.raise_for_status()
            body = r.json()
            out += [s["id"] for s in body.get("servers", [])]
            nxt = [link["href"] for link in body.get("servers_links", []) if link.get("rel") == "next"]
            path = nxt[0].split("/v2.1", 1)[1] if nxt else ""
        return out

    async def outcome(self, ids: list[str]) -> dict:
        """Status counts and time to ACTIVE of ``ids`` (read from one detailed listing)."""
        wanted = set(ids)
        seen: dict[str, dict] = {}
        path = "/servers/detail?limit=1000"
        while path:
            r = await self.compute.get(path)
            r.raise_for_status()
            body = r.json()
            for s in body["servers"]:
                if s["id"] in wanted:
                    seen[s["id"]] = s
            nxt = [link["href"] for link in body.get("servers_links", []) if link.get("rel") == "next"]
            path = nxt[0].split("/v2.1", 1)[1] if nxt else ""
        counts: dict[str, int] = {}
        to_active: list[float] = []
        for sid in ids:
            s = seen.get(sid)
            st = s["status"] if s else "MISSING"
            counts[st] = counts.get(st, 0) + 1
            launched = (s or {}).get("OS-SRV-USG:launched_at")
            if st == "ACTIVE" and launched:
                t = datetime.strptime(launched, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()
                to_active.append(t - self.started[sid])
        faults = sorted({(seen[i].get("fault") or {}).get("message", "")[:120] for i in ids
                         if seen.get(i, {}).get("status") == "ERROR"})
        return {"status": counts, "to_active_p50_ms": ms(to_active, 50), "to_active_p99_ms": ms(to_active, 99),
                "to_active_max_ms": ms(to_active, 100), "faults": faults[:3]}

    async def timed_gets(self, paths: list[str], max_s: float) -> dict:
        lat: list[float] = []
        size = count = 0
        deadline = time.perf_counter() + max_s
        for path in paths:
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            r = await self.compute.get(path)
            body = r.content
            lat.append(time.perf_counter() - t0)
            r.raise_for_status()
            size, count = len(body), len(r.json()["servers"])
        return {"n": len(lat), "p50_ms": ms(lat, 50), "p99_ms": ms(lat, 99), "returned": count, "bytes": size}


def rss_mb(pid: int) -> float:
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def start_profile(pid: int, out: Path, seconds: float) -> subprocess.Popen | None:
    spy = shutil.which("py-spy")
    if spy is None:
        print("(py-spy not found: no profile)", flush=True)
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50",
                             "--format", "raw" if out.suffix == ".txt" else "flamegraph", "--output", str(out),
                             "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def report_boot(label: str, res: dict, out: dict) -> None:
    print(f"{label}: {res['created']}/{res['requested']} created in {res['create_s']} s "
          f"({res['creates_per_s']}/s; POST p50 {res['create_p50_ms']} ms, p99 {res['create_p99_ms']} ms, "
          f"errors {res['create_errors']} {res['error_samples'][:1]}); none building after {res['all_done_s']} s"
          if not res["still_building"] else
          f"{label}: {res['created']}/{res['requested']} created in {res['create_s']} s; "
          f"{res['still_building']} still building at the bound ({res['all_done_s']} s)", flush=True)
    print(f"  status {out['status']}; time to ACTIVE p50 {out['to_active_p50_ms']} ms, "
          f"p99 {out['to_active_p99_ms']} ms, max {out['to_active_max_ms']} ms"
          + (f"; faults {out['faults']}" if out["faults"] else ""), flush=True)


async def run(args: argparse.Namespace) -> dict:
    from tests.cloud import start_cloud, stop_cloud

    capacity = args.hosts * 32 * 4
    if args.total > capacity:
        raise SystemExit(f"--total {args.total} does not fit on {args.hosts} hosts of 128 tiny servers")
    results: dict = {"hosts": args.hosts, "concurrency": args.concurrency}
    with tempfile.TemporaryDirectory(prefix="nubes-computebench-", dir=args.dir) as tmp:
        env = {"NUBES_CORE__LOG_LEVEL": "WARNING", "NUBES_COMPUTE__FAKE_HOSTS": str(args.hosts), "NUBES_COMPUTE__DRIVER": "fake",
               "NUBES_COMPUTE__FAKE_VCPUS": "32", "NUBES_COMPUTE__FAKE_MEMORY_MB": "32768",
               "NUBES_COMPUTE__FAKE_DISK_GB": "1000", "NUBES_COMPUTE__HOST": "bench",
               "NUBES_NETWORK__QUOTA_PORT": "-1", "NUBES_NETWORK__DATAPLANE": "off"}
        t0 = time.perf_counter()
        cloud = start_cloud(Path(tmp), services=",".join(SERVICES), names=SERVICES, extra_env=env)
        bench = Bench(cloud, cloud.token())
        try:
            project = cloud.osc("project", "show", "admin")["id"]
            world = await bench.world(project)
            up = await bench.wait_hosts(args.hosts, 180)
            results["startup_s"] = round(time.perf_counter() - t0, 1)
            results["rss_idle_mb"] = rss_mb(cloud.proc.pid)
            print(f"cloud up with {up} fake hosts in {results['startup_s']} s; {results['rss_idle_mb']} MB resident",
                  flush=True)
            prof = start_profile(cloud.proc.pid, Path(args.profile) / "boot.txt", 60) if args.profile else None
            first = await bench.boot(world, args.first, args.concurrency, args.boot_max_s)
            out = await bench.outcome(first.pop("ids"))
            results["boot"] = {**first, **out}
            report_boot(f"boot {args.first}", first, out)
            if prof is not None:
                prof.wait()
            results["rss_after_boot_mb"] = rss_mb(cloud.proc.pid)
            grow_n = args.total - first["created"]
            if grow_n > 0:
                grow = await bench.boot(world, grow_n, args.concurrency, args.grow_max_s)
                gout = await bench.outcome(grow.pop("ids"))
                results["grow"] = {**grow, **gout}
                report_boot(f"grow by {grow_n}", grow, gout)
            total = len(bench.started)
            results["servers_total"] = total
            lists = {"detail_default": "/servers/detail", "detail_limit_1000": "/servers/detail?limit=1000"}
            for key, path in lists.items():
                res = await bench.timed_gets([path] * args.list_n, args.list_max_s)
                results[key] = res
                print(f"GET {path} with {total} servers: p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms "
                      f"({res['returned']} returned, {res['bytes'] / 1e6:.2f} MB, n={res['n']})", flush=True)
            picks = [f"/servers?name={bench.names[i * 7919 % len(bench.names)]}" for i in range(args.name_n)]
            res = await bench.timed_gets(picks, args.list_max_s)
            results["by_name"] = res
            print(f"GET /servers?name=<one> with {total} servers: p50 {res['p50_ms']} ms, p99 {res['p99_ms']} ms "
                  f"({res['returned']} returned, n={res['n']})", flush=True)
            results["rss_end_mb"] = rss_mb(cloud.proc.pid)
            print(f"nubes up resident memory with {total} servers: {results['rss_end_mb']} MB "
                  f"(idle {results['rss_idle_mb']} MB)", flush=True)
        finally:
            await bench.close()
            if cloud.proc.poll() is not None:
                print(f"nubes up exited ({cloud.proc.returncode}):\n{cloud.log_path.read_text()[-3000:]}")
            stop_cloud(cloud)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hosts", type=int, default=50)
    ap.add_argument("--first", type=int, default=500, help="servers of the first boot")
    ap.add_argument("--total", type=int, default=5000, help="servers to grow to")
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--boot-max-s", type=float, default=600.0, help="bound of the first boot")
    ap.add_argument("--grow-max-s", type=float, default=1500.0, help="bound of the growth")
    ap.add_argument("--list-n", type=int, default=20, help="requests per listing measurement")
    ap.add_argument("--name-n", type=int, default=100, help="GET /servers?name= requests")
    ap.add_argument("--list-max-s", type=float, default=120.0, help="bound of each listing measurement")
    ap.add_argument("--dir", help="where the state directory goes (default: $TMPDIR)")
    ap.add_argument("--profile", help="record the server with py-spy during the first boot into this directory")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    out = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
