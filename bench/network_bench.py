#!/usr/bin/env python3
"""Network: port create rate at concurrency 1 and 16, and port listing with 10,000 ports.

Starts `nubes up --services identity,network` (SQLite, one process), makes a network with a /16
subnet, then measures:

  * port creates (POST /v2.0/ports, one fixed IP each from IPAM, default security group) at
    concurrency 1 and 16: ports per second and p50/p99;
  * after filling up to --ports ports (each with its own device_id): GET /v2.0/ports (all of
    them) and GET /v2.0/ports?device_id=<one> sequentially, p50/p99 and response size.

Figures only, no pass/fail; only 127.0.0.1 is contacted and every phase is bounded.

    .venv/bin/python bench/network_bench.py [--ports 10000] [--seq1 200] [--seq16 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k] * 1000.0


async def create_ports(client: httpx.AsyncClient, net_id: str, n: int, concurrency: int,
                       max_s: float, devices: list[str]) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    todo = iter(range(n))
    deadline = time.perf_counter() + max_s

    async def worker() -> None:
        for _ in todo:
            if time.perf_counter() > deadline:
                return
            device = str(uuid.uuid4())
            t0 = time.perf_counter()
            r = await client.post("/v2.0/ports", json={"port": {"network_id": net_id, "device_id": device,
                                                               "device_owner": "compute:nova"}})
            lat.append(time.perf_counter() - t0)
            if r.status_code != 201:
                errors.append(f"{r.status_code} {r.text[:120]}")
            else:
                devices.append(device)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return {"concurrency": concurrency, "ports": len(lat), "errors": len(errors), "error_samples": errors[:3],
            "per_s": round(len(lat) / wall, 1), "p50_ms": round(pct(lat, 50), 1),
            "p99_ms": round(pct(lat, 99), 1)}


async def timed_gets(client: httpx.AsyncClient, paths: list[str], max_s: float) -> dict:
    lat: list[float] = []
    size = count = 0
    deadline = time.perf_counter() + max_s
    for path in paths:
        if time.perf_counter() > deadline:
            break
        t0 = time.perf_counter()
        r = await client.get(path)
        body = r.content
        lat.append(time.perf_counter() - t0)
        r.raise_for_status()
        size, count = len(body), len(r.json()["ports"])
    return {"n": len(lat), "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
            "ports_returned": count, "bytes": size}


async def run(args: argparse.Namespace) -> dict:
    from tests.cloud import start_cloud, stop_cloud

    with tempfile.TemporaryDirectory(prefix="nubes-netbench-") as tmp:
        cloud = start_cloud(Path(tmp), services="identity,network", names=("identity", "network"),
                            extra_env={"NUBES_CORE__LOG_LEVEL": "WARNING", "NUBES_NETWORK__QUOTA_PORT": "-1"})
        try:
            client = httpx.AsyncClient(base_url=cloud.url("network"), timeout=httpx.Timeout(300),
                                       headers={"x-auth-token": cloud.token()},
                                       limits=httpx.Limits(max_connections=32))
            r = await client.post("/v2.0/networks", json={"network": {"name": "bench"}})
            net_id = r.json()["network"]["id"]
            r = await client.post("/v2.0/subnets", json={"subnet": {"network_id": net_id, "ip_version": 4,
                                                                    "cidr": "10.128.0.0/16"}})
            r.raise_for_status()
            devices: list[str] = []
            out: dict = {"create": []}
            for conc, n in ((1, args.seq1), (16, args.seq16)):
                res = await create_ports(client, net_id, n, conc, args.max_s, devices)
                out["create"].append(res)
                print(f"create c={conc:<3} {res['ports']:>6} ports  {res['per_s']:>7.1f}/s  "
                      f"p50 {res['p50_ms']:.1f} ms  p99 {res['p99_ms']:.1f} ms  errors {res['errors']}", flush=True)
            missing = args.ports - len(devices)
            if missing > 0:
                t0 = time.perf_counter()
                fill = await create_ports(client, net_id, missing, 16, args.max_s * 10, devices)
                print(f"filled to {len(devices)} ports in {time.perf_counter() - t0:.0f} s "
                      f"({fill['per_s']}/s, errors {fill['errors']})", flush=True)
            out["ports_total"] = len(devices)
            out["list_all"] = await timed_gets(client, ["/v2.0/ports"] * args.list_n, args.max_s)
            print(f"GET /v2.0/ports (all {out['list_all']['ports_returned']})  p50 "
                  f"{out['list_all']['p50_ms']} ms  p99 {out['list_all']['p99_ms']} ms  "
                  f"{out['list_all']['bytes'] / 1e6:.1f} MB", flush=True)
            picks = [f"/v2.0/ports?device_id={random.choice(devices)}" for _ in range(args.filtered_n)]
            out["by_device"] = await timed_gets(client, picks, args.max_s)
            print(f"GET /v2.0/ports?device_id=...  p50 {out['by_device']['p50_ms']} ms  "
                  f"p99 {out['by_device']['p99_ms']} ms", flush=True)
            out["server_rss_mb"] = round(psutil.Process(cloud.proc.pid).memory_info().rss / 2**20, 1)
            print(f"server resident memory with {len(devices)} ports: {out['server_rss_mb']} MB")
            await client.aclose()
        finally:
            stop_cloud(cloud)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ports", type=int, default=10000, help="ports present for the list measurements")
    ap.add_argument("--seq1", type=int, default=200, help="ports created at concurrency 1")
    ap.add_argument("--seq16", type=int, default=2000, help="ports created at concurrency 16")
    ap.add_argument("--list-n", type=int, default=20, help="GET /v2.0/ports (all) requests")
    ap.add_argument("--filtered-n", type=int, default=200, help="GET /v2.0/ports?device_id= requests")
    ap.add_argument("--max-s", type=float, default=120.0, help="time bound of each phase")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    out = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
