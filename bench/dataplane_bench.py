#!/usr/bin/env python3
"""The network agents with 100 ports on one host: cold start to all ports ACTIVE, and the time to
converge after a restart with changes made while they were down (10 ports deleted, a security
group rule added), then an unchanged restart's full pass.

The measurement is tests/functional/network_dataplane/test_scale.py (the lab: an in-process network
service, a "node" namespace, the agents in this process, instances as veth ends); this runs it and
prints its figures. Root only; everything happens in namespaces the lab makes and removes.

    .venv/bin/python bench/dataplane_bench.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEST = "tests/functional/network_dataplane/test_scale.py"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("dataplane_bench: needs root (network namespaces)")
        return 2
    lines = []
    for i in range(min(args.runs, 10)):
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", TEST], cwd=REPO,
                             capture_output=True, text=True, timeout=600)
        found = [ln for ln in res.stdout.splitlines() if ln.startswith("100 ports:")]
        if res.returncode != 0 or not found:
            print(res.stdout[-3000:], res.stderr[-2000:])
            return 1
        lines.append(found[0])
        print(f"run {i + 1}: {found[0]}")
    figures = [[float(x) for x in re.findall(r"([0-9.]+)s", ln)] for ln in lines]
    names = ["cold start to all ACTIVE", "restart: kernel converged", "restart: full pass", "unchanged restart: full pass"]
    print("\n| measure (100 ports) | best | median | worst |\n|---|---:|---:|---:|")
    for k, name in enumerate(names):
        vals = sorted(f[k] for f in figures)
        print(f"| {name} | {vals[0]:.2f}s | {vals[len(vals) // 2]:.2f}s | {vals[-1]:.2f}s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
