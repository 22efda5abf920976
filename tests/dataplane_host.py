"""What the network agents leave on a host's root namespace (bridges, taps, VXLAN devices, DHCP and
router namespaces, nftables tables): listed before a real cloud starts, removed after it stops.
Shared by tests/e2e/test_real_instances.py and bench/instances_bench.py."""

from __future__ import annotations

import subprocess
from pathlib import Path


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    res = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    if check and res.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: {res.stderr or res.stdout}")
    return res


def host_objects() -> set[str]:
    links = {ln.split()[0].split("@")[0] for ln in sh("ip", "-br", "link").stdout.splitlines()}
    namespaces = {ln.split()[0] for ln in sh("ip", "netns", "list").stdout.splitlines() if ln.strip()}
    tables = {" ".join(ln.split()[1:3]) for ln in sh("nft", "list", "tables").stdout.splitlines() if ln.strip()}
    return ({f"link {n}" for n in links if n.startswith(("brq", "tap", "vxlan-"))}
            | {f"netns {n}" for n in namespaces if n.startswith(("qdhcp-", "qrouter-"))}
            | {f"table {t}" for t in tables if "nubes" in t})


def scrub(before: set[str], agent_dir: Path) -> None:
    """What the agents made and left (stopped agents leave the data plane up, on purpose: a
    restart must not cut traffic); the test removes it so a failure does not leak onto the host."""
    for line in sh("ps", "-eo", "pid,args").stdout.splitlines():
        if "dnsmasq" in line and str(agent_dir) in line:
            sh("kill", line.split()[0], check=False)
    for obj in sorted(host_objects() - before):
        kind, name = obj.split(" ", 1)
        if kind == "netns":
            for pid in sh("ip", "netns", "pids", name, check=False).stdout.split():
                sh("kill", "-9", pid, check=False)
            sh("ip", "netns", "del", name, check=False)
        elif kind == "link":
            sh("ip", "link", "del", name, check=False)
        else:
            sh("nft", "delete", "table", *name.split(), check=False)
