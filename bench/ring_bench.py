#!/usr/bin/env python3
"""Object rings: rebalance time and lookup rate.

Builds a ring of ``--part-power`` (18: 262,144 partitions) × ``--replicas`` (3) over ``--zones``
(5) zones × ``--servers`` (4) servers per zone × ``--disks`` (5) disks per server (100 devices),
and prints the time of the first rebalance, of a rebalance after adding one device, the
replicas that moved, balance and dispersion; then ``get_nodes`` and ``handoffs`` (the first 3)
lookups per second over ``--lookups`` (200,000) object names, and the ring file's size and load
time. In-process, no network; figures only.

    .venv/bin/python bench/ring_bench.py [--part-power 18] [--replicas 3] [--zones 5]
        [--servers 4] [--disks 5] [--lookups 200000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nubes.object.ring import Ring, RingBuilder  # noqa: E402
from nubes.object.ring.device import NewDevice  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part-power", type=int, default=18)
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--zones", type=int, default=5)
    ap.add_argument("--servers", type=int, default=4)
    ap.add_argument("--disks", type=int, default=5)
    ap.add_argument("--lookups", type=int, default=200_000)
    args = ap.parse_args()

    builder = RingBuilder(args.part_power, args.replicas, 1)
    for z in range(args.zones):
        for s in range(args.servers):
            for d in range(args.disks):
                builder.add_device(NewDevice(1, z, f"10.0.{z}.{s}", 6200, f"d{d}", 100))
    ndev = len(builder.devs)
    t = time.perf_counter()
    first = builder.rebalance(now=1)
    t_first = time.perf_counter() - t
    print(f"rebalance: {builder.parts} partitions × {args.replicas} replicas over {ndev} devices: "
          f"{t_first:.2f}s, balance {first['balance']:.3f}%")
    builder.add_device(NewDevice(1, 0, "10.0.99.1", 6200, "d0", 100))
    t = time.perf_counter()
    second = builder.rebalance(now=10)
    t_second = time.perf_counter() - t
    ideal = builder.parts * args.replicas / (ndev + 1)
    print(f"rebalance after adding one device: {t_second:.2f}s, moved {second['moved']} replicas "
          f"(its share: {ideal:.0f}), balance {second['balance']:.3f}%")
    disp = builder.dispersion()
    print(f"dispersion: partitions with replicas sharing a zone {disp['zone']}, a server {disp['server']}, "
          f"a device {disp['device']}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "object.ring.gz"
        t = time.perf_counter()
        builder.write_ring(path)
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        ring = Ring.load(path)
        t_load = time.perf_counter() - t
        print(f"ring file: {path.stat().st_size / 1e6:.2f} MB, written in {t_write:.2f}s, "
              f"loaded in {t_load:.3f}s")

    names = [f"obj-{i}" for i in range(args.lookups)]
    t = time.perf_counter()
    for name in names:
        ring.get_nodes("AUTH_bench", "cont", name)
    rate = len(names) / (time.perf_counter() - t)
    print(f"get_nodes: {rate:,.0f} lookups/s ({1e6 / rate:.1f} µs each)")
    parts = [ring.partition("AUTH_bench", "cont", n) for n in names[:20_000]]
    t = time.perf_counter()
    for part in parts:
        list(islice(ring.handoffs(part), 3))
    rate = len(parts) / (time.perf_counter() - t)
    print(f"handoffs (first 3): {rate:,.0f} lookups/s ({1e6 / rate:.1f} µs each)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
