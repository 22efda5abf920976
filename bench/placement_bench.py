#!/usr/bin/env python3
"""Placement: allocation candidates latency and claim throughput, nubes beside upstream, in one run.

For each size (cumulative: the providers of a smaller size stay for the next) it creates
resource providers through the API, each with VCPU 32 (max_unit 16), MEMORY_MB 8192
(min_unit 128) and DISK_GB 8192 (min_unit 5); every second one has HW_CPU_X86_AVX2 (the
others HW_CPU_X86_SSE2) and every third one is in aggregate A.  Then it measures:

  * GET /allocation_candidates for the typical request
      resources=VCPU:1,MEMORY_MB:256,DISK_GB:10&required=HW_CPU_X86_AVX2&member_of=A
    (a sixth of the providers match), sequentially, p50/p99 -- without a limit, and with
    nova's default limit=1000;
  * claims: PUT /allocations/{consumer} (VCPU:1, MEMORY_MB:256, DISK_GB:10 on a random
    matching provider) at --concurrency, claims per second and p50/p99.

The same workload runs against upstream Placement started by ../shared/peers/placement
(./setup.sh && ./run.sh; PostgreSQL, uWSGI 5 processes x 25 threads), and the figures are
printed side by side with their ratio.  nubes runs as one `nubes up` process on SQLite.
Upstream needs ~8 minutes to create 10,000 providers here, so its sizes default to 100,1000.

    .venv/bin/python bench/placement_bench.py [--sizes 100,1000,10000] [--upstream-sizes 100,1000]
                                             [--no-upstream] [--json out.json]

Only 127.0.0.1 is contacted; every phase is bounded in requests and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
PEERS = Path(os.environ.get("NUBES_PEERS", REPO.parent / "shared" / "peers"))

AGG_A = "14a5c8a3-5a99-4e8f-88be-00d85fcb1c17"
INVENTORY = {"VCPU": {"total": 32, "max_unit": 16},
             "MEMORY_MB": {"total": 8192, "min_unit": 128, "max_unit": 8192},
             "DISK_GB": {"total": 8192, "min_unit": 5, "max_unit": 8192}}
CLAIM = {"VCPU": 1, "MEMORY_MB": 256, "DISK_GB": 10}
QUERY = f"resources=VCPU:1,MEMORY_MB:256,DISK_GB:10&required=HW_CPU_X86_AVX2&member_of={AGG_A}"
VERSION = "placement 1.39"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k] * 1000.0


class Target:
    def __init__(self, name: str, url: str, token: str) -> None:
        self.name, self.url = name, url
        self.client = httpx.AsyncClient(
            base_url=url, timeout=httpx.Timeout(300),
            headers={"x-auth-token": token, "openstack-api-version": VERSION},
            # No keep-alive, for both: upstream's uWSGI --http router closes idle connections
            # (as upstream's perfload job runs it), so each request opens its own, as `ab` does.
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=0))
        self.created = 0
        self.matching: list[str] = []

    async def close(self) -> None:
        await self.client.aclose()

    async def grow(self, size: int, concurrency: int, max_s: float) -> dict:
        """Create providers until there are ``size`` of them (cumulative across sizes)."""
        todo = iter(range(self.created, size))
        errors: list[str] = []
        deadline = time.perf_counter() + max_s

        async def one(i: int) -> None:
            c = self.client
            rp = str(uuid.uuid4())
            r = await c.post("/resource_providers", json={"uuid": rp, "name": f"bench-{i:06d}-{rp[:8]}"})
            if r.status_code != 200:
                errors.append(f"create {r.status_code} {r.text[:120]}")
                return
            steps = [("inventories", {"inventories": INVENTORY}),
                     ("traits", {"traits": ["HW_CPU_X86_AVX2" if i % 2 == 0 else "HW_CPU_X86_SSE2"]})]
            if i % 3 == 0:
                steps.append(("aggregates", {"aggregates": [AGG_A]}))
            gen = 0
            for what, body in steps:
                r = await c.put(f"/resource_providers/{rp}/{what}",
                                json={**body, "resource_provider_generation": gen})
                if r.status_code != 200:
                    errors.append(f"{what} {r.status_code} {r.text[:120]}")
                    return
                gen = r.json()["resource_provider_generation"]
            if i % 6 == 0:
                self.matching.append(rp)

        async def worker() -> None:
            for i in todo:
                if time.perf_counter() > deadline:
                    return
                await one(i)

        t0 = time.perf_counter()
        before = self.created
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        self.created = size
        made = size - before
        return {"providers": made, "wall_s": round(wall, 1), "providers_per_s": round(made / wall, 1),
                "errors": len(errors), "error_samples": errors[:3]}

    async def candidates(self, query: str, n: int, max_s: float) -> dict:
        r = await self.client.get(f"/allocation_candidates?{query}")   # warm-up, and the shape
        r.raise_for_status()
        found = len(r.json()["allocation_requests"])
        lat: list[float] = []
        deadline = time.perf_counter() + max_s
        for _ in range(n):
            if time.perf_counter() > deadline:
                break
            t0 = time.perf_counter()
            r = await self.client.get(f"/allocation_candidates?{query}")
            _ = r.content
            lat.append(time.perf_counter() - t0)
            if r.status_code != 200:
                raise RuntimeError(f"{self.name}: {r.status_code} {r.text[:200]}")
        return {"candidates": found, "bytes": len(r.content), "n": len(lat),
                "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1)}

    async def claims(self, n: int, concurrency: int, max_s: float, seed: int) -> dict:
        rng = random.Random(seed)
        todo = iter(range(n))
        lat: list[float] = []
        status: dict[int, int] = {}
        deadline = time.perf_counter() + max_s

        async def worker() -> None:
            for _ in todo:
                if time.perf_counter() > deadline:
                    return
                rp = rng.choice(self.matching)
                t0 = time.perf_counter()
                r = await self.client.put(f"/allocations/{uuid.uuid4()}", json={
                    "allocations": {rp: {"resources": CLAIM}}, "project_id": "bench-project",
                    "user_id": "bench-user", "consumer_generation": None, "consumer_type": "INSTANCE"})
                lat.append(time.perf_counter() - t0)
                status[r.status_code] = status.get(r.status_code, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
        ok = status.get(204, 0)
        return {"attempted": len(lat), "ok": ok, "status": status, "claims_per_s": round(ok / wall, 1),
                "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1)}


async def run_sizes(target: Target, sizes: list[int], args: argparse.Namespace) -> dict:
    out = {}
    for size in sizes:
        print(f"[{target.name}] growing to {size} providers ...", flush=True)
        res = {"create": await target.grow(size, args.create_concurrency, args.create_max_seconds)}
        print(f"[{target.name}] {size}: created {res['create']}", flush=True)
        res["typical"] = await target.candidates(QUERY, args.seq, args.phase_max_seconds)
        res["typical_limit1000"] = await target.candidates(QUERY + "&limit=1000", args.seq,
                                                           args.phase_max_seconds)
        print(f"[{target.name}] {size}: candidates {res['typical']} | limit=1000 {res['typical_limit1000']}",
              flush=True)
        res["claims"] = await target.claims(args.claims, args.concurrency, args.phase_max_seconds, args.seed)
        print(f"[{target.name}] {size}: claims {res['claims']}", flush=True)
        out[size] = res
    return out


# ---------------------------------------------------------------- servers

def start_nubes(state: Path) -> tuple[subprocess.Popen, str, str]:
    from tests.cloud import start_cloud

    cloud = start_cloud(state, services="identity,placement", names=("identity", "placement"),
                        extra_env={"NUBES_CORE__LOG_LEVEL": "WARNING"})
    return cloud.proc, cloud.url("placement"), cloud.token()


_UPSTREAM_ENV: dict[str, str] = {}


def start_upstream(port: int, db_port: int) -> str:
    # A private database port picked now: a fixed one can be held by a client socket of the
    # nubes run that just finished (thousands of short connections).
    _UPSTREAM_ENV.update(PL_PORT=str(port), PL_DB_PORT=str(db_port))
    env = {**os.environ, **_UPSTREAM_ENV, "PL_RESET": "1"}
    peer = PEERS / "placement"
    for attempt in range(3):   # a database server that is still shutting down holds its port a while
        done = subprocess.run([str(peer / "setup.sh")], env=env, stdout=subprocess.DEVNULL)
        if done.returncode == 0:
            break
        if attempt == 2:
            raise RuntimeError("upstream placement setup failed (see /tmp/peer-placement/log)")
        stop_upstream()
        time.sleep(5)
    env.pop("PL_RESET")
    out = subprocess.run([str(peer / "run.sh")], env=env, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("PLACEMENT_URL="):
            return line.split("=", 1)[1].strip()
    raise RuntimeError(f"upstream placement did not start:\n{out}")


def stop_upstream() -> None:
    subprocess.run([str(PEERS / "placement" / "stop.sh")], check=False, stdout=subprocess.DEVNULL,
                   env={**os.environ, **_UPSTREAM_ENV})


# ---------------------------------------------------------------- report

def report(results: dict) -> None:
    nubes, up = results.get("nubes", {}), results.get("upstream", {})
    print("\n==== placement benchmark (latency in ms; ratio = upstream / nubes, "
          ">1 means nubes is better) ====")
    hdr = f"{'size':>6} {'metric':<34}{'nubes':>12}{'upstream':>12}{'ratio':>9}"
    print(hdr)
    print("-" * len(hdr))
    for size in sorted(set(nubes) | set(up), key=int):
        n, u = nubes.get(size), up.get(size)
        rows = [
            ("providers created /s", "create", "providers_per_s", True),
            ("candidates (all matches) p50", "typical", "p50_ms", False),
            ("candidates (all matches) p99", "typical", "p99_ms", False),
            ("candidates limit=1000 p50", "typical_limit1000", "p50_ms", False),
            ("candidates limit=1000 p99", "typical_limit1000", "p99_ms", False),
            ("claims /s", "claims", "claims_per_s", True),
            ("claim PUT p50", "claims", "p50_ms", False),
            ("claim PUT p99", "claims", "p99_ms", False),
        ]
        found = (n or u)["typical"]["candidates"]
        print(f"{size:>6} {'(candidates returned: ' + str(found) + ')':<34}")
        for label, phase, key, higher_better in rows:
            nv = n[phase][key] if n else None
            uv = u[phase][key] if u else None
            ratio = ""
            if nv and uv:
                ratio = f"{(nv / uv) if higher_better else (uv / nv):.1f}x"
            print(f"{'':>6} {label:<34}{nv if nv is not None else '-':>12}{uv if uv is not None else '-':>12}"
                  f"{ratio:>9}")


async def amain(args: argparse.Namespace) -> dict:
    results: dict = {"params": {k: v for k, v in vars(args).items()}}
    sizes = [int(s) for s in args.sizes.split(",") if s]
    up_sizes = [] if args.no_upstream else [int(s) for s in args.upstream_sizes.split(",") if s]
    with tempfile.TemporaryDirectory(prefix="placement-bench-") as tmp:
        proc, url, token = start_nubes(Path(tmp))
        target = Target("nubes", url, token)
        try:
            results["nubes"] = await run_sizes(target, sizes, args)
        finally:
            await target.close()
            proc.terminate()
            proc.wait(timeout=30)
    if up_sizes:
        from tests.cloud import free_port

        url = start_upstream(free_port(), free_port())
        target = Target("upstream", url, "admin")
        try:
            results["upstream"] = await run_sizes(target, up_sizes, args)
        finally:
            await target.close()
            stop_upstream()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,1000,10000", help="nubes provider counts (cumulative)")
    ap.add_argument("--upstream-sizes", default="100,1000", help="upstream provider counts (cumulative)")
    ap.add_argument("--no-upstream", action="store_true")
    ap.add_argument("--seq", type=int, default=100, help="sequential candidate requests per variant")
    ap.add_argument("--claims", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=10, help="concurrent claims")
    ap.add_argument("--create-concurrency", type=int, default=20)
    ap.add_argument("--create-max-seconds", type=float, default=1200)
    ap.add_argument("--phase-max-seconds", type=float, default=90)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--json", help="write every figure to this file")
    args = ap.parse_args()
    results = asyncio.run(amain(args))
    report({k: {int(s): v for s, v in r.items()} for k, r in results.items() if k != "params"})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
