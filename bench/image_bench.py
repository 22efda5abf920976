#!/usr/bin/env python3
"""Image data throughput of nubes image beside the disk it stores on, and the server's memory.

Starts `nubes up` (identity + image) with its state directory (and so its image store)
under --dir, then, for each round:

  disk write   1 GiB in 4 MiB writes + fsync in the store's own directory, buffered and with
               O_DIRECT (the store writes with O_DIRECT): the better of the two counts
  upload       PUT /v2/images/{id}/file of 1 GiB streamed by httpx from a generator
               (chunked; the server hashes MD5 + SHA-512, writes, fsyncs, renames)
  disk read    the uploaded image's own file read from the store (4 MiB reads, fadvise
               SEQUENTIAL), page cache dropped first
  download     GET /v2/images/{id}/file of that image, page cache dropped first (curl as the
               client when it is installed, so the client's own CPU stays small; else httpx)
  hash ceiling single-core MD5 and SHA-512 rates on the same data: Glance's checksum and
               os_hash_value must be computed over the whole stream in order, so an upload
               cannot go faster than the slower of the two, whatever the disk does

The page cache is dropped with `echo 3 > /proc/sys/vm/drop_caches` before each write and
each read measurement when running as root (said in the output; otherwise reads are warm).
The server's RSS is sampled every 20 ms during the upload: peak minus the value just
before; its CPU time (user + system, all threads) per GiB moved is printed too, a figure
that other load on the machine does not change much. Prints one line per round and the
medians; never passes or fails on time.

    .venv/bin/python bench/image_bench.py [--dir /var/tmp] [--rounds 3] [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import mmap
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import yaml

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
BLOCK = 4 * MIB


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def start(state: Path) -> tuple[subprocess.Popen, str, str]:
    ports = {"identity": free_port(), "image": free_port()}
    env = dict(os.environ, NUBES_IDENTITY__PORT=str(ports["identity"]), NUBES_IMAGE__PORT=str(ports["image"]),
               NUBES_IDENTITY__PASSWORD_HASH_ROUNDS="4", NUBES_CORE__LOG_LEVEL="WARNING")
    with open(state / "nubes.log", "w") as log:   # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([sys.executable, "-m", "nubes.cli", "up", "--state-dir", str(state),
                                 "--services", "identity,image"], env=env, cwd=REPO, stdout=log,
                                stderr=subprocess.STDOUT)
    image = f"http://127.0.0.1:{ports['image']}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError((state / "nubes.log").read_text())
        try:
            if (state / "clouds.yaml").exists() and httpx.get(image + "/healthcheck", timeout=1).is_success:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    auth = yaml.safe_load((state / "clouds.yaml").read_text())["clouds"]["nubes"]["auth"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"id": "default"}, "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"], "domain": {"id": "default"}}}}}
    r = httpx.post(f"http://127.0.0.1:{ports['identity']}/v3/auth/tokens", json=body, timeout=30)
    r.raise_for_status()
    return proc, image, r.headers["x-subject-token"]


def disk_write(path: Path, size: int, block: bytes) -> float:
    """The better of two honest sequential writes: buffered + fsync, and O_DIRECT + fsync."""
    best = 0.0
    aligned = mmap.mmap(-1, len(block))
    aligned.write(block)
    for direct in (False, True):
        drop_caches()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0)
        try:
            fd = os.open(path, flags, 0o600)
        except OSError:
            continue                      # no O_DIRECT on this filesystem
        t = time.perf_counter()
        try:
            for _ in range(size // len(block)):
                os.write(fd, aligned)
            os.fsync(fd)
        finally:
            os.close(fd)
        best = max(best, size / (time.perf_counter() - t))
    return best


def disk_read(path: Path) -> float:
    """A good sequential reader: 4 MiB reads with the kernel told to read ahead (fadvise)."""
    t, n = time.perf_counter(), 0
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while data := os.read(fd, BLOCK):
            n += len(data)
    finally:
        os.close(fd)
    return n / (time.perf_counter() - t)


class Peak:
    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self.stop.wait(0.02)

    def __enter__(self) -> Peak:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def upload(image: str, token: str, size: int, block: bytes, pid: int) -> tuple[str, float, int]:
    h = {"X-Auth-Token": token}
    r = httpx.post(f"{image}/v2/images", json={"name": "bench", "disk_format": "raw",
                                                 "container_format": "bare"}, headers=h, timeout=60)
    r.raise_for_status()
    image_id = r.json()["id"]

    def body():
        for _ in range(size // len(block)):
            yield block

    with Peak(pid) as mem:
        cpu = cpu_seconds(pid)
        t = time.perf_counter()
        r = httpx.put(f"{image}/v2/images/{image_id}/file", content=body(), timeout=3600,
                      headers={**h, "Content-Type": "application/octet-stream"})
        elapsed = time.perf_counter() - t
        cpu = cpu_seconds(pid) - cpu
    r.raise_for_status()
    return image_id, size / elapsed, mem.peak - mem.base, cpu * (1 << 30) / size


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def hash_rates(block: bytes, total: int = 256 * MIB) -> tuple[float, float]:
    out = []
    for algo in ("md5", "sha512"):
        h = hashlib.new(algo)
        t = time.perf_counter()
        for _ in range(total // len(block)):
            h.update(block)
        out.append(total / (time.perf_counter() - t))
    return out[0], out[1]


def download(image: str, token: str, image_id: str) -> float:
    """Bytes per second of one full download."""
    if shutil.which("curl"):
        res = subprocess.run(["curl", "-sS", "-f", "-o", "/dev/null", "-w", "%{size_download} %{time_total}",
                              "-H", f"X-Auth-Token: {token}", f"{image}/v2/images/{image_id}/file"],
                             capture_output=True, text=True, check=True)
        n, secs = res.stdout.split()
        return int(n) / float(secs)
    t, n = time.perf_counter(), 0
    with httpx.stream("GET", f"{image}/v2/images/{image_id}/file", headers={"X-Auth-Token": token},
                      timeout=3600) as resp:
        resp.raise_for_status()
        for chunk in resp.iter_raw(BLOCK):
            n += len(chunk)
    return n / (time.perf_counter() - t)


def one_round(i: int, pid: int, image: str, token: str, store_dir: Path, size: int,
              block: bytes) -> dict[str, float]:
    probe = store_dir / ".disk-probe"
    dw = disk_write(probe, size, block)
    probe.unlink()
    drop_caches()          # the upload starts from a dropped cache too, like the disk write
    image_id, up, mem, up_cpu = upload(image, token, size, block, pid)
    # Read baseline: the very file the download serves, read straight from the store. The guest
    # cannot drop the hypervisor's cache, so whichever read comes second in a round may find the
    # data there: the order alternates between rounds.
    results: dict[str, float] = {}

    def baseline() -> None:
        drop_caches()
        results["read"] = disk_read(store_dir / image_id)

    def served() -> None:
        drop_caches()
        cpu = cpu_seconds(pid)
        results["down"] = download(image, token, image_id)
        results["down_cpu"] = (cpu_seconds(pid) - cpu) * (1 << 30) / size

    for step in ((baseline, served) if i % 2 == 0 else (served, baseline)):
        step()
    httpx.delete(f"{image}/v2/images/{image_id}", headers={"X-Auth-Token": token}, timeout=60)
    md5, sha = hash_rates(block)
    return {"write": dw, "up": up, "mem": mem, "up_cpu": up_cpu, "md5": md5, "sha": sha, **results}


def describe(r: dict[str, float]) -> str:
    ceiling = min(r["write"], r["md5"], r["sha"])
    return (f"disk write {r['write'] / 1e6:5.0f}  md5 {r['md5'] / 1e6:4.0f}  sha512 {r['sha'] / 1e6:4.0f}  "
            f"upload {r['up'] / 1e6:4.0f} MB/s = {r['up'] / r['write']:4.0%} of disk, "
            f"{r['up'] / ceiling:4.0%} of min(disk, md5, sha512) | disk read {r['read'] / 1e6:5.0f}  "
            f"download {r['down'] / 1e6:5.0f} MB/s = {r['down'] / r['read']:4.0%} | server RSS "
            f"+{r['mem'] / MIB:.0f} MiB, CPU s/GiB up {r['up_cpu']:.2f} down {r['down_cpu']:.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the state dir (and store) goes")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--size-mib", type=int, default=1024)
    args = ap.parse_args()
    size = args.size_mib * MIB
    block = os.urandom(BLOCK)
    state = Path(tempfile.mkdtemp(prefix="nubes-image-bench-", dir=args.dir))
    proc, image, token = start(state)
    store_dir = state / "images" / "local"
    store_dir.mkdir(parents=True, exist_ok=True)
    print(f"state dir {state} ({os.statvfs(state).f_bsize} B blocks), {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, image {args.size_mib} MiB")
    rows: list[dict[str, float]] = []
    try:
        for i in range(args.rounds):
            row = one_round(i, proc.pid, image, token, store_dir, size, block)
            rows.append(row)
            print(f"round {i + 1}: " + describe(row))
        med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
        med["mem"] = max(r["mem"] for r in rows)
        print("median:  " + describe(med))
        cold = [(r["read"], r["down"]) for r in rows]
        first_read = statistics.median(r for j, (r, _) in enumerate(cold) if j % 2 == 0)
        first_down = statistics.median(d for j, (_, d) in enumerate(cold) if j % 2 == 1)
        print(f"reads that came first in their round (no hypervisor cache): disk read "
              f"{first_read / 1e6:.0f} MB/s, download {first_down / 1e6:.0f} MB/s "
              f"= {first_down / first_read:.0%}")
        print(f"download client: {'curl' if shutil.which('curl') else 'httpx'}; page cache "
              f"{'dropped' if drop_caches() else 'NOT dropped (not root): reads were warm'}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        subprocess.run(["rm", "-rf", str(state)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
