#!/usr/bin/env python3
"""Object storage beside upstream Swift: 4 KiB PUT and GET at concurrency 1 and 16, 64 MiB PUT and
GET, a listing of 10,000 objects, server CPU per request, and the disk's own fsync'd write and
read rates as the limit.

The load is ``../shared/peers/swift/obj_bench.py`` (aiohttp, bounded per phase by time and count),
the same tool and the same phases for both sides:

* nubes: ``nubes up --services identity,object`` in a scratch state directory (three replicas
  over four device directories on this disk, the all-in-one's default ring shape), a Keystone
  token and the project's storage URL;
* upstream: Swift from PyPI as ``../shared/peers/swift`` builds it (proxy with two workers and
  tempauth, four storage nodes, three replicas over four devices), when ``--upstream`` is given
  and its ``setup.sh`` has run.

    .venv/bin/python bench/object_bench.py [--duration 10] [--upstream] [--phases small,large,listing]

Prints both tables and the disk's rates; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
# ``../shared/peers/swift``; NUBES_SWIFT_PEER names it from elsewhere (a git worktree, whose parent differs).
PEER = Path(os.environ.get("NUBES_SWIFT_PEER", ROOT.parent / "shared" / "peers" / "swift"))
MB = 1_000_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def disk_rates(directory: Path, size: int = 256 * 1024 * 1024) -> tuple[float, float]:
    """MB/s of a write fsync'd at the end and of a read back with the page cache dropped."""
    path = directory / "disk-probe"
    block = os.urandom(4 * 1024 * 1024)
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(size // len(block)):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    write = size / (time.perf_counter() - start) / MB
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    start = time.perf_counter()
    while os.read(fd, 4 * 1024 * 1024):
        pass
    read = size / (time.perf_counter() - start) / MB
    os.close(fd)
    path.unlink()
    return write, read


def start_nubes(state: Path) -> tuple[subprocess.Popen, dict[str, int]]:
    ports = {k: free_port() for k in ("identity", "object", "account", "container", "obj")}
    env = dict(os.environ, NUBES_IDENTITY__PORT=str(ports["identity"]), NUBES_OBJECT__PORT=str(ports["object"]),
               NUBES_OBJECT__ACCOUNT_PORT=str(ports["account"]),
               NUBES_OBJECT__CONTAINER_PORT=str(ports["container"]),
               NUBES_OBJECT__OBJECT_PORT=str(ports["obj"]))
    log = open(state / "nubes.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "nubes.cli", "up", "--state-dir", str(state),
                             "--services", "identity,object"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{ports['object']}/healthcheck", timeout=2).status_code == 200 \
                    and (state / "clouds.yaml").exists():
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"nubes did not start; see {state / 'nubes.out'}")
        time.sleep(0.3)
    return proc, ports


def nubes_token(state: Path, ports: dict[str, int]) -> tuple[str, str]:
    import yaml

    auth = yaml.safe_load((state / "clouds.yaml").read_text())["clouds"]["nubes"]["auth"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"name": "Default"}, "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"], "domain": {"name": "Default"}}}}}
    r = httpx.post(f"http://127.0.0.1:{ports['identity']}/v3/auth/tokens", json=body, timeout=30)
    r.raise_for_status()
    project = r.json()["token"]["project"]["id"]
    return r.headers["x-subject-token"], f"http://127.0.0.1:{ports['object']}/v1/AUTH_{project}"


def run_load(args: argparse.Namespace, out: Path, extra: list[str]) -> dict:
    cmd = [str(PEER / "bench.sh"), "--duration", str(args.duration), "--phases", args.phases,
           "--json", str(out), *extra]
    subprocess.run(cmd, check=True)
    return json.loads(out.read_text())


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    p.add_argument("--phases", default="small,large,listing")
    p.add_argument("--upstream", action="store_true", help="also run upstream Swift (../shared/peers/swift)")
    args = p.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="nubes-object-bench-"))
    write, read = disk_rates(scratch)
    print(f"disk (this machine, {scratch}): fsync'd write {write:.0f} MB/s, cold read {read:.0f} MB/s")
    state = scratch / "state"
    state.mkdir()
    proc, ports = start_nubes(state)
    try:
        token, url = nubes_token(state, ports)
        pid_dir = scratch / "pids"
        pid_dir.mkdir()
        (pid_dir / "nubes.pid").write_text(str(proc.pid))
        print(f"nubes: {url}")
        nubes = run_load(args, scratch / "nubes.json",
                         ["--storage-url", url, "--token", token, "--server-pid-dir", str(pid_dir)])
        print(f"nubes resident memory (one process, every server): {rss_mb([proc.pid]):.0f} MB")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    results = {"disk": {"write_mb_s": write, "read_mb_s": read}, "nubes": nubes}
    if args.upstream:
        run_dir = Path(os.environ.get("SWIFT_SCRATCH", "/tmp/swift-saio")) / "run"
        subprocess.run([str(PEER / "run.sh")], check=True)
        try:
            pids = [int(p.read_text()) for p in run_dir.glob("*.pid")]
            results["upstream"] = run_load(args, scratch / "upstream.json", ["--server-pid-dir", str(run_dir)])
            print(f"upstream resident memory ({len(pids)} processes): {rss_mb(pids):.0f} MB")
        finally:
            subprocess.run([str(PEER / "stop.sh")], check=False)
    (scratch / "results.json").write_text(json.dumps(results, indent=1))
    print(f"results: {scratch / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
