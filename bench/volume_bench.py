#!/usr/bin/env python3
"""Block storage: create/delete latency and rates, snapshots and clones, backups, attach to a guest.

Starts `nubes up` (identity + volume; + image, placement, network, compute for the attach phase)
on free loopback ports with its state directory under ``--dir``, drives the Cinder v3 API with
httpx, and prints figures beside the upstream anchors and the aims. Phases (``--phases``):

  create    N blank 1 GiB volumes (``--volumes``, 200) at each concurrency (``--concurrency``,
            1,20): each worker POSTs, polls its volume every ``--poll-ms`` until ``available``,
            then takes the next. Create-to-available p50/p99 as the client saw it (includes up to
            one poll interval) and by the server's clock (the record's ``updated_at`` at
            ``available`` minus the moment before the POST). Then the same workers delete them
            (DELETE, poll until 404): the delete rate. Server CPU (user + system, with qemu-img
            children) per create and per delete, net of the polls (a GET's CPU is measured
            apart). Once per driver (``--drivers``, file,fake), each in a cloud of its own.
  snapshot  a ``--snap-size-gb`` (10) GiB volume (file driver) with ``--data-gib`` (2 then 0.2)
            GiB written into its backend file with qemu-io (the volume is ``available``, not
            exported, so the file has no other user): time (POST to ``available``) and bytes
            the pool grew by (st_blocks of every file under the pool, before and after) for a
            snapshot, a volume from that snapshot, and a clone of the volume.
  backup    the disk's own sequential write (O_DIRECT + fsync, and buffered + fsync: the better)
            and read (page cache dropped; buffered with fadvise, and O_DIRECT: the better) of a
            file of the data's size in the state directory and one core's SHA-256 rate, then a
            full backup of the first data volume (before its snapshots, so a raw volume is still
            raw) and its restore to a new volume: MB/s of the data they hold, server CPU per GiB.
  attach    (root + QEMU) one test guest (no NIC), then ``--attach-rounds`` times: a volume
            attached with ``POST /servers/{id}/os-volume_attachments`` and timed until the
            guest's serial console (its console.log) lists a disk with the volume's serial, then
            detached and timed until it is gone. The guest checks its disks once a second, so each
            round starts after a random pause (0-1 s): the figure includes that wait, uniformly
            spread; the volume's `in-use` stamp (server clock) shows when the attach itself ended.

A phase whose feature is not in this tree (or answers 501) prints "not run: <why>". Figures
only, never pass/fail; only 127.0.0.1 is contacted, every loop is bounded in count and time, and
everything made is removed at the end.

    .venv/bin/python bench/volume_bench.py                 # the full default run
    .venv/bin/python bench/volume_bench.py --quick         # a small run, under 2 minutes
    .venv/bin/python bench/volume_bench.py --phases create --drivers fake --volumes 50 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import mmap
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GiB = 1024 ** 3
MiB = 1024 ** 2
VOLUME = {"OpenStack-API-Version": "volume 3.60"}
COMPUTE = {"OpenStack-API-Version": "compute 2.96"}
ANCHORS = """upstream anchors (Cinder at 1,000 nodes, Rally, published): create 2.6 s mean, attach 2.77 s mean
aims: create p50 < 50 ms; attach-to-visible < 1 s; snapshot/clone time independent of the data size;
      backup >= 80% of the disk's sequential read"""


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))]


def ms(values: list[float], p: float) -> float:
    return round(pct(values, p) * 1000.0, 1)


def stamp(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def allocated(root: Path) -> int:
    """Bytes allocated (st_blocks) by every file under ``root``."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


class NotRun(Exception):
    """A phase that cannot run in this tree or on this machine; the message says why."""


class Volumes:
    """Raw Cinder v3 calls (project id in the URL, as clients build it) with one token."""

    def __init__(self, cloud, token: str, project: str) -> None:
        self.http = httpx.AsyncClient(base_url=cloud.url("volume", f"/v3/{project}"),
                                      headers={"X-Auth-Token": token, **VOLUME}, timeout=httpx.Timeout(300),
                                      limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))

    async def close(self) -> None:
        await self.http.aclose()

    async def post(self, path: str, body: dict, want: int = 202) -> dict:
        r = await self.http.post(path, json=body)
        if r.status_code == 501:
            raise NotRun(f"POST {path} answers 501 ({fault(r)})")
        if r.status_code != want:
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def wait(self, kind: str, rid: str, done: tuple[str, ...] = ("available",), poll: float = 0.01,
                   timeout: float = 600.0) -> dict:
        """Poll ``/{kind}s/{rid}`` until its status is in ``done`` (or error); the record."""
        deadline = time.monotonic() + timeout
        while True:
            r = await self.http.get(f"/{kind}s/{rid}")
            r.raise_for_status()
            rec = r.json()[kind]
            if rec["status"] in done or rec["status"].startswith("error"):
                return rec
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} {rid} still {rec['status']} after {timeout} s")
            await asyncio.sleep(poll)

    async def wait_gone(self, kind: str, rid: str, poll: float = 0.01, timeout: float = 600.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = await self.http.get(f"/{kind}s/{rid}")
            if r.status_code == 404:
                return
            await asyncio.sleep(poll)
        raise RuntimeError(f"{kind} {rid} not gone after {timeout} s")

    async def timed(self, kind: str, path: str, body: dict, poll: float = 0.01) -> tuple[dict, float]:
        """POST a create and wait for ``available``: the record and the seconds it took."""
        t0 = time.perf_counter()
        out = await self.post(path, body)
        rec = await self.wait(kind, out[kind]["id"], poll=poll)
        if rec["status"] != "available":
            raise RuntimeError(f"{kind} {rec['id']} went to {rec['status']}")
        return rec, time.perf_counter() - t0


def fault(r: httpx.Response) -> str:
    """The message of an OpenStack error body ({"<kind>": {"message": ...}}), else the text."""
    try:
        body = r.json()
        return next(iter(body.values()))["message"][:200]
    except (ValueError, KeyError, TypeError, StopIteration, AttributeError):
        return r.text[:200]


def start(tmp: Path, services: tuple[str, ...], driver: str, extra: dict[str, str] | None = None):
    from tests.cloud import start_cloud

    env = {"NUBES_CORE__LOG_LEVEL": "WARNING", "NUBES_VOLUME__QUOTA_VOLUMES": "-1",
           "NUBES_VOLUME__QUOTA_GIGABYTES": "-1", "NUBES_VOLUME__QUOTA_SNAPSHOTS": "-1",
           "NUBES_VOLUME__QUOTA_BACKUPS": "-1", "NUBES_VOLUME__QUOTA_BACKUP_GIGABYTES": "-1",
           "NUBES_VOLUME__POOL_SIZE_GB": "1000", **(extra or {})}
    tmp.mkdir(parents=True, exist_ok=True)
    cloud = start_cloud(tmp, services=",".join(services), names=services, extra_env=env, volume_driver=driver)
    project = cloud.osc("project", "show", "admin")["id"]
    return cloud, project


async def wait_backend(vol: Volumes, timeout: float = 60.0) -> None:
    """Until a volume manager has reported a pool (creates before that go to error)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await vol.http.get("/scheduler-stats/get_pools")
        if r.status_code == 200 and r.json().get("pools"):
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("no volume backend reported a pool")


# -- phase 1: creates and deletes ------------------------------------------------------------

def iso(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")


class Watcher:
    """One poller for all workers' volumes, so that the polls' load does not grow with the
    concurrency: every ``poll`` seconds (between answers), one list request. Creates: the volumes
    updated since the earliest outstanding POST (``updated_at=gte:``, 3.60), each finished one
    handed to its worker. Deletes: the volumes still ``deleting``; one whose DELETE was answered
    before that list was asked for, and that is not in it, is gone."""

    def __init__(self, vol: Volumes, poll: float, mode: str) -> None:
        self.vol, self.poll, self.mode = vol, poll, mode
        self.waiting: dict[str, tuple[float, asyncio.Future]] = {}
        self.polls = 0
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def expect(self, rid: str, since_wall: float) -> asyncio.Future:
        fut = asyncio.get_running_loop().create_future()
        self.waiting[rid] = (since_wall, fut)
        self._wake.set()
        return fut

    async def _run(self) -> None:
        while True:
            if not self.waiting:
                self._wake.clear()
                await self._wake.wait()
            asked = time.time()
            if self.mode == "create":
                since = min(t for t, _ in self.waiting.values()) - 0.01
                params = {"updated_at": f"gte:{iso(since)}", "limit": "1000"}
            else:
                params = {"status": "deleting", "limit": "1000"}
            r = await self.vol.http.get("/volumes/detail", params=params)
            self.polls += 1
            r.raise_for_status()
            rows = {v["id"]: v for v in r.json()["volumes"]}
            for rid, (t, fut) in list(self.waiting.items()):
                if self.mode == "create":
                    v = rows.get(rid)
                    if v is not None and (v["status"] == "available" or v["status"].startswith("error")):
                        del self.waiting[rid]
                        fut.set_result(v)
                elif rid not in rows and t < asked:
                    del self.waiting[rid]
                    fut.set_result(None)
            await asyncio.sleep(self.poll)


async def poll_cost(vol: Volumes, proc: psutil.Process, n: int = 100) -> float:
    """Server CPU seconds of one create-watcher poll that finds nothing new (subtracted from the
    create figure, times the polls made)."""
    c0 = cpu_s(proc)
    for _ in range(n):
        params = {"updated_at": f"gte:{iso(time.time())}", "limit": "1000"}
        (await vol.http.get("/volumes/detail", params=params)).raise_for_status()
    return (cpu_s(proc) - c0) / n


async def creates(vol: Volumes, proc: psutil.Process, n: int, conc: int, poll: float, per_poll: float,
                  max_s: float) -> tuple[dict, list[str]]:
    todo, ids = iter(range(n)), []
    seen, server, posts, errors = [], [], [], []
    watch = Watcher(vol, poll, "create")
    watch.start()
    t0 = time.perf_counter()
    deadline = t0 + max_s
    c0 = cpu_s(proc)

    async def worker() -> None:
        for i in todo:
            if time.perf_counter() > deadline:
                return
            wall, s0 = time.time(), time.perf_counter()
            try:
                out = await vol.post("/volumes", {"volume": {"size": 1, "name": f"bench-{conc}-{i}"}})
                posts.append(time.perf_counter() - s0)
                ids.append(out["volume"]["id"])
                rec = await asyncio.wait_for(watch.expect(out["volume"]["id"], wall),
                                             max(1.0, deadline - time.perf_counter()))
            except (RuntimeError, httpx.HTTPError, asyncio.TimeoutError) as exc:
                errors.append(f"{type(exc).__name__}: {exc}"[:200])
                continue
            if rec["status"] != "available":
                errors.append(f"{rec['id']}: {rec['status']}")
                continue
            seen.append(time.perf_counter() - s0)
            server.append(stamp(rec["updated_at"]) - wall)

    try:
        await asyncio.gather(*(worker() for _ in range(conc)))
    finally:
        await watch.stop()
    elapsed = time.perf_counter() - t0
    cpu = cpu_s(proc) - c0
    res = {"n": n, "concurrency": conc, "available": len(seen), "errors": len(errors), "error_samples": errors[:3],
           "seen_p50_ms": ms(seen, 50), "seen_p99_ms": ms(seen, 99), "server_p50_ms": ms(server, 50),
           "server_p99_ms": ms(server, 99), "post_p50_ms": ms(posts, 50), "post_p99_ms": ms(posts, 99),
           "elapsed_s": round(elapsed, 2), "per_s": round(len(seen) / elapsed, 1), "polls": watch.polls,
           "cpu_ms_per_create": round((cpu - watch.polls * per_poll) * 1000 / max(1, len(ids)), 2),
           "cpu_ms_per_create_with_polls": round(cpu * 1000 / max(1, len(ids)), 2)}
    return res, ids


async def deletes(vol: Volumes, proc: psutil.Process, ids: list[str], conc: int, poll: float, per_poll: float,
                  max_s: float) -> dict:
    todo, lat, errors = iter(list(ids)), [], []
    watch = Watcher(vol, poll, "delete")
    watch.start()
    t0 = time.perf_counter()
    deadline = t0 + max_s
    c0 = cpu_s(proc)

    async def worker() -> None:
        for vid in todo:
            s0 = time.perf_counter()
            r = await vol.http.delete(f"/volumes/{vid}")
            if r.status_code != 202:
                errors.append(f"{r.status_code} {r.text[:160]}")
                continue
            try:
                await asyncio.wait_for(watch.expect(vid, time.time()), max(1.0, deadline - time.perf_counter()))
            except asyncio.TimeoutError:
                errors.append(f"{vid} not gone in time")
                continue
            lat.append(time.perf_counter() - s0)

    try:
        await asyncio.gather(*(worker() for _ in range(conc)))
    finally:
        await watch.stop()
    elapsed = time.perf_counter() - t0
    cpu = cpu_s(proc) - c0
    return {"n": len(ids), "gone": len(lat), "errors": len(errors), "error_samples": errors[:3],
            "elapsed_s": round(elapsed, 2), "per_s": round(len(lat) / elapsed, 1) if elapsed else None,
            "to_gone_p50_ms": ms(lat, 50), "to_gone_p99_ms": ms(lat, 99), "polls": watch.polls,
            "cpu_ms_per_delete": round((cpu - watch.polls * per_poll) * 1000 / max(1, len(ids)), 2)}


async def phase_create(args, tmp: Path, driver: str) -> dict:
    from tests.cloud import stop_cloud

    if driver == "file":
        need_file_driver()
    cloud, project = start(tmp / f"create-{driver}", ("identity", "volume"), driver)
    vol = Volumes(cloud, cloud.token(), project)
    proc = psutil.Process(cloud.proc.pid)
    out: dict = {"driver": driver, "runs": []}
    try:
        await wait_backend(vol)
        probe, _ = await vol.timed("volume", "/volumes", {"volume": {"size": 1, "name": "probe"}})
        per_poll = await poll_cost(vol, proc)
        out["server_cpu_ms_per_poll"] = round(per_poll * 1000, 3)
        r = await vol.http.delete(f"/volumes/{probe['id']}")
        r.raise_for_status()
        await vol.wait_gone("volume", probe["id"])
        for conc in args.concurrency:
            made, ids = await creates(vol, proc, args.volumes, conc, args.poll_ms / 1000, per_poll, args.max_phase_s)
            gone = await deletes(vol, proc, ids, conc, args.poll_ms / 1000, per_poll, args.max_phase_s)
            out["runs"].append({"create": made, "delete": gone})
            print(f"  {driver:4} c={conc:<3} create-to-available p50 {made['seen_p50_ms']} ms, p99 "
                  f"{made['seen_p99_ms']} ms (server clock p50 {made['server_p50_ms']}, p99 {made['server_p99_ms']}); "
                  f"POST p50 {made['post_p50_ms']} ms; {made['available']}/{made['n']} available, "
                  f"{made['per_s']}/s; CPU {made['cpu_ms_per_create']} ms/create"
                  + (f"; errors {made['errors']} {made['error_samples'][:1]}" if made["errors"] else ""), flush=True)
            print(f"  {driver:4} c={conc:<3} delete {gone['gone']}/{gone['n']} in {gone['elapsed_s']} s = "
                  f"{gone['per_s']}/s (to gone p50 {gone['to_gone_p50_ms']} ms, p99 {gone['to_gone_p99_ms']} ms); "
                  f"CPU {gone['cpu_ms_per_delete']} ms/delete"
                  + (f"; errors {gone['errors']} {gone['error_samples'][:1]}" if gone["errors"] else ""), flush=True)
    finally:
        await vol.close()
        stop_cloud(cloud)
    return out


def need_file_driver() -> None:
    if not (REPO / "nubes" / "volume" / "drivers" / "file.py").exists():
        raise NotRun("the file driver (nubes/volume/drivers/file.py) is not in this tree yet")


# -- phase 2: snapshots and clones -----------------------------------------------------------

def backend_file(pool: Path, volume_id: str) -> tuple[Path, str]:
    """The active file of a volume and its format, from the file backend's record."""
    rec_path = pool / "volumes" / f"{volume_id}.json"
    if not rec_path.exists():
        raise NotRun(f"no file backend record for volume {volume_id} at {rec_path}")
    rec = json.loads(rec_path.read_text())
    return pool / "data" / rec["file"], rec["format"]


def write_data(path: Path, fmt: str, nbytes: int) -> float:
    """Write ``nbytes`` of a non-zero pattern from offset 0 with qemu-io (O_DIRECT, flushed)."""
    step = 256 * MiB
    cmds: list[str] = []
    for off in range(0, nbytes, step):
        cmds += ["-c", f"write -P 0x5a {off} {min(step, nbytes - off)}"]
    t0 = time.perf_counter()
    subprocess.run(["qemu-io", "-t", "none", "-f", fmt, *cmds, "-c", "flush", str(path)],
                   check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - t0


async def data_volume(vol: Volumes, pool: Path, size_gb: int, data: int, poll: float) -> dict:
    """A new volume with ``data`` bytes written into its backend file."""
    rec, _ = await vol.timed("volume", "/volumes", {"volume": {"size": size_gb, "name": f"data-{data}"}}, poll)
    path, fmt = backend_file(pool, rec["id"])
    write_s = await asyncio.to_thread(write_data, path, fmt, data)
    await asyncio.to_thread(os.sync)
    return {"volume_id": rec["id"], "size_gb": size_gb, "data_bytes": data, "format": fmt,
            "write_s": round(write_s, 2)}


async def snapshot_round(vol: Volumes, pool: Path, out: dict, poll: float) -> dict:
    rec, size_gb = {"id": out["volume_id"]}, out["size_gb"]
    steps = (("snapshot", "snapshot", "/snapshots", lambda: {"snapshot": {"volume_id": rec["id"], "name": "s"}}),
             ("from_snapshot", "volume", "/volumes",
              lambda: {"volume": {"size": size_gb, "snapshot_id": out["snapshot_id"], "name": "from-snap"}}),
             ("clone", "volume", "/volumes", lambda: {"volume": {"size": size_gb, "source_volid": rec["id"],
                                                                  "name": "clone"}}))
    for key, kind, path_, body in steps:
        before = allocated(pool)
        made, secs = await vol.timed(kind, path_, body(), poll)
        await asyncio.to_thread(os.sync)
        out[key] = {"s": round(secs, 3), "pool_bytes": allocated(pool) - before, "id": made["id"]}
        if key == "snapshot":
            out["snapshot_id"] = made["id"]
    return out


async def cleanup_round(vol: Volumes, r: dict) -> None:
    for vid in [r[k]["id"] for k in ("clone", "from_snapshot") if k in r]:
        (await vol.http.delete(f"/volumes/{vid}")).raise_for_status()
        await vol.wait_gone("volume", vid)
    (await vol.http.delete(f"/volumes/{r['volume_id']}", params={"cascade": "true"})).raise_for_status()
    await vol.wait_gone("volume", r["volume_id"])


def describe_snap(r: dict) -> str:
    return (f"  {r['data_bytes'] / GiB:.3g} GiB of data ({r['format']}, written in {r['write_s']} s): "
            + "; ".join(f"{k.replace('_', ' ')} {r[k]['s'] * 1000:.0f} ms, pool +{r[k]['pool_bytes'] / MiB:.2f} MiB"
                        for k in ("snapshot", "from_snapshot", "clone")))


# -- phase 3: backups ------------------------------------------------------------------------

def disk_write(path: Path, size: int) -> dict:
    block = mmap.mmap(-1, 4 * MiB)
    block.write(os.urandom(4 * MiB))
    out = {}
    for direct in (False, True):
        drop_caches()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | (os.O_DIRECT if direct else 0)
        fd = os.open(path, flags, 0o600)
        t = time.perf_counter()
        try:
            for _ in range(size // len(block)):
                os.write(fd, block)
            os.fsync(fd)
        finally:
            os.close(fd)
        out["direct" if direct else "buffered"] = size / (time.perf_counter() - t)
    return out


def disk_read(path: Path) -> dict:
    out = {}
    buf = mmap.mmap(-1, 4 * MiB)
    for direct in (False, True):
        drop_caches()
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECT if direct else 0))
        n, t = 0, time.perf_counter()
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while (got := os.readv(fd, [buf])) > 0:
                n += got
        finally:
            os.close(fd)
        out["direct" if direct else "buffered"] = n / (time.perf_counter() - t)
    return out


def sha256_rate(total: int = 512 * MiB) -> float:
    """One core's SHA-256 rate: every backed-up and restored chunk is hashed once, in order."""
    block, h = os.urandom(4 * MiB), hashlib.sha256()
    t = time.perf_counter()
    for _ in range(total // len(block)):
        h.update(block)
    return total / (time.perf_counter() - t)


async def phase_backup(vol: Volumes, proc: psutil.Process, state: Path, snap: dict, poll: float) -> dict:
    r = await vol.http.get("/backups")
    if r.status_code in (404, 501):
        raise NotRun(f"GET /backups answers {r.status_code}: backups are not in this tree yet")
    data = snap["data_bytes"]
    probe = state / ".disk-probe"
    try:
        w = await asyncio.to_thread(disk_write, probe, data)
        rd = await asyncio.to_thread(disk_read, probe)
    finally:
        probe.unlink(missing_ok=True)
    out: dict = {"data_bytes": data, "disk_write": w, "disk_read": rd, "sha256": await asyncio.to_thread(sha256_rate)}
    for key, path, body, kind in (
            ("backup", "/backups", {"backup": {"volume_id": snap["volume_id"], "name": "bench"}}, "backup"),
            ("restore", None, {"restore": {"name": "restored"}}, "volume")):
        drop_caches()
        c0, t0 = cpu_s(proc), time.perf_counter()
        if key == "backup":
            made = await vol.post(path, body)
            rec = await vol.wait("backup", made["backup"]["id"], poll=poll)
            out["backup_id"] = rec["id"]
        else:
            made = await vol.post(f"/backups/{out['backup_id']}/restore", body)
            rec = await vol.wait("volume", made["restore"]["volume_id"], poll=poll)
            out["restored_id"] = rec["id"]
        secs = time.perf_counter() - t0
        if rec["status"] != "available":
            raise RuntimeError(f"{key}: {kind} {rec['id']} went to {rec['status']}: {rec.get('fail_reason')}")
        out[key] = {"s": round(secs, 2), "mb_s": round(data / secs / 1e6, 1),
                    "cpu_s_per_gib": round((cpu_s(proc) - c0) * GiB / data, 2)}
    return out


async def phase_snapshot_backup(args, tmp: Path, phases: set[str]) -> dict:
    from tests.cloud import stop_cloud

    need_file_driver()
    env = {"NUBES_VOLUME__VOLUME_FORMAT": args.volume_format} if args.volume_format else {}
    services: tuple[str, ...] = ("identity", "volume")
    if args.backup_store == "object":       # backups as objects in the cloud's own object storage
        services += ("object",)
        env["NUBES_VOLUME__BACKUP_STORE"] = "object"
    cloud, project = start(tmp / "snapshot", services, "file", env or None)
    vol = Volumes(cloud, cloud.token(), project)
    proc = psutil.Process(cloud.proc.pid)
    pool = cloud.state_dir / "volumes" / "file"
    out: dict = {"snapshot": [], "backup": None}
    poll = args.poll_ms / 1000
    try:
        await wait_backend(vol)
        rounds = []
        for data in args.data_gib:
            r = await data_volume(vol, pool, args.snap_size_gb, int(data * GiB) // (64 * 1024) * (64 * 1024), poll)
            rounds.append(r)
            # The backup first: a raw volume is still raw then (its first snapshot makes it an overlay).
            if "backup" in phases and out["backup"] is None:
                out["backup"] = b = await guard("backup", phase_backup(vol, proc, cloud.state_dir, r, poll))
                if "backup" in b:
                    print(describe_backup(b), flush=True)
            if "snapshot" not in phases:
                break
            await snapshot_round(vol, pool, r, poll)
            out["snapshot"].append(r)
            print(describe_snap(r), flush=True)
        for r in rounds:
            await cleanup_round(vol, r)
    finally:
        await vol.close()
        stop_cloud(cloud)
    return out


def describe_backup(b: dict) -> str:
    w, r = b["disk_write"], b["disk_read"]
    read = max(r.values())
    return (f"  disk write {w['direct'] / 1e6:.0f} MB/s O_DIRECT, {w['buffered'] / 1e6:.0f} buffered (fsync'd); "
            f"read {r['buffered'] / 1e6:.0f} MB/s buffered, {r['direct'] / 1e6:.0f} O_DIRECT "
            f"({b['data_bytes'] / GiB:.3g} GiB); one core's SHA-256 {b['sha256'] / 1e6:.0f} MB/s\n"
            f"  backup  {b['backup']['mb_s']} MB/s of data ({b['backup']['s']} s) = {b['backup']['mb_s'] * 1e6 / read:.0%}"
            f" of the disk read; {b['backup']['cpu_s_per_gib']} server CPU-s/GiB\n"
            f"  restore {b['restore']['mb_s']} MB/s of data ({b['restore']['s']} s) = "
            f"{b['restore']['mb_s'] * 1e6 / max(w.values()):.0%} of the disk write; "
            f"{b['restore']['cpu_s_per_gib']} server CPU-s/GiB")


# -- phase 4: attach to a running guest ------------------------------------------------------

def console_disks(path: Path) -> list[str] | None:
    """The disks of the guest's last ``disks`` line (``name,bytes,serial`` each), or None."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return None
    lines = [ln for ln in text.splitlines() if "nubes-guest: disks" in ln]
    if not lines:
        return None
    return [d for d in lines[-1].split("nubes-guest: disks", 1)[1].split() if d != "none"]


def listed(disks: list[str] | None, volume_id: str) -> bool:
    return any(d.split(",")[-1] and volume_id.startswith(d.split(",")[-1]) for d in disks or [])


async def wait_console(path: Path, pred, timeout: float) -> float | None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if pred(console_disks(path)):
            return time.perf_counter() - t0
        await asyncio.sleep(0.01)
    return None


async def phase_attach(args, tmp: Path) -> dict:
    if os.geteuid() != 0:
        raise NotRun("needs root (the qemu compute driver makes taps and runs QEMU)")
    from nubes.compute.drivers.qemu import usable

    ok, why = usable()
    if not ok:
        raise NotRun(f"the qemu driver cannot run here: {why}")
    from tests.cloud import stop_cloud

    need_file_driver()
    services = ("identity", "image", "placement", "network", "compute", "volume")
    cloud, project = start(tmp / "attach", services, "file", {"NUBES_COMPUTE__DRIVER": "qemu"})
    token = cloud.token()
    vol = Volumes(cloud, token, project)
    nova = httpx.AsyncClient(base_url=cloud.url("compute", "/v2.1"), headers={"X-Auth-Token": token, **COMPUTE},
                             timeout=httpx.Timeout(120))
    out: dict = {"rounds": []}
    server = None
    try:
        await wait_backend(vol)
        res = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "nubes.cli", "guest", "register", "--state-dir",
                             str(cloud.state_dir)], env=cloud.env, capture_output=True, text=True, timeout=600)
        if res.returncode:
            raise RuntimeError(f"nubes guest register: {res.stdout[-500:]} {res.stderr[-500:]}")
        image = cloud.osc("image", "show", "nubes-test-guest")["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            r = await nova.get("/os-hypervisors")
            rps = await vol.http.get(cloud.url("placement", "/resource_providers"))
            if (r.status_code == 200 and any(h.get("state") == "up" for h in r.json().get("hypervisors", []))
                    and rps.status_code == 200 and rps.json().get("resource_providers")):
                break
            await asyncio.sleep(0.5)
        flavor = cloud.osc("flavor", "create", "--ram", "256", "--disk", "1", "--vcpus", "1", "bench.attach")["id"]
        r = await nova.post("/servers", json={"server": {"name": "bench-attach", "imageRef": image,
                                                         "flavorRef": flavor, "networks": "none"}})
        r.raise_for_status()
        server = r.json()["server"]["id"]
        console = cloud.state_dir / "compute" / "instances" / server / "console.log"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            s = (await nova.get(f"/servers/{server}")).json()["server"]
            if s["status"] in ("ACTIVE", "ERROR"):
                break
            await asyncio.sleep(0.2)
        if s["status"] != "ACTIVE":
            raise RuntimeError(f"server {server}: {s['status']} {s.get('fault')}")
        if await wait_console(console, lambda d: d is not None, 120) is None:
            raise RuntimeError(f"the guest printed no disks line in 120 s ({console})")
        out["accelerator"] = (cloud.state_dir / "compute" / "accel.json").read_text()[:200] \
            if (cloud.state_dir / "compute" / "accel.json").exists() else "?"
        volume, _ = await vol.timed("volume", "/volumes", {"volume": {"size": 1, "name": "attach"}})
        rng = random.Random(13)
        for i in range(args.attach_rounds):
            # The guest looks at its disks once a second; a random pause puts each attach at another
            # point of that second (back to back, every round would start just after the guest looked).
            await asyncio.sleep(rng.uniform(0.0, 1.0))
            wall0, t0 = time.time(), time.perf_counter()
            r = await nova.post(f"/servers/{server}/os-volume_attachments",
                                json={"volumeAttachment": {"volumeId": volume["id"]}})
            if r.status_code == 501:
                raise NotRun(f"POST /servers/{{id}}/os-volume_attachments answers 501 ({fault(r)})")
            if r.status_code != 200:
                raise RuntimeError(f"attach: {r.status_code} {r.text[:300]}")
            post_s = time.perf_counter() - t0
            in_use_task = asyncio.create_task(vol.wait("volume", volume["id"], done=("in-use",), poll=0.01, timeout=60))
            seen = await wait_console(console, lambda d: listed(d, volume["id"]), 60)
            seen_s = None if seen is None else post_s + seen
            in_use = await in_use_task
            in_use_s = stamp(in_use["updated_at"]) - wall0
            t1 = time.perf_counter()
            r = await nova.delete(f"/servers/{server}/os-volume_attachments/{volume['id']}")
            if r.status_code != 202:
                raise RuntimeError(f"detach: {r.status_code} {r.text[:300]}")
            gone = await wait_console(console, lambda d: d is not None and not listed(d, volume["id"]), 120)
            await vol.wait("volume", volume["id"], done=("available",), poll=0.05, timeout=120)
            row = {"post_s": round(post_s, 3), "visible_s": None if seen_s is None else round(seen_s, 3),
                   "status": in_use["status"], "in_use_s": round(in_use_s, 3),
                   "detach_gone_s": None if gone is None else round(gone, 3),
                   "detach_available_s": round(time.perf_counter() - t1, 3)}
            out["rounds"].append(row)
            print(f"  round {i + 1}: POST {row['post_s'] * 1000:.0f} ms, volume {row['status']} at "
                  f"{row['in_use_s']} s (server clock), in the guest's disk list after {row['visible_s']} s; "
                  f"detach: gone from the list after {row['detach_gone_s']} s, volume available after "
                  f"{row['detach_available_s']} s", flush=True)
        vis = [r["visible_s"] for r in out["rounds"] if r["visible_s"] is not None]
        out["visible_p50_s"] = round(pct(vis, 50), 3) if vis else None
        out["visible_max_s"] = round(max(vis), 3) if vis else None
        out["in_use_p50_s"] = round(pct([r["in_use_s"] for r in out["rounds"]], 50), 3)
        (await vol.http.delete(f"/volumes/{volume['id']}")).raise_for_status()
    finally:
        if server is not None:
            await nova.delete(f"/servers/{server}")
            for _ in range(300):
                if (await nova.get(f"/servers/{server}")).status_code == 404:
                    break
                await asyncio.sleep(0.2)
        await nova.aclose()
        await vol.close()
        stop_cloud(cloud)
        from tests.qemu_guest import reap

        left = reap(cloud.state_dir, [])
        if left:
            print(f"  (left behind and removed: {left})")
    return out


# -- the run ---------------------------------------------------------------------------------

async def guard(label: str, coro) -> dict:
    """A phase's figures; "not run" with the reason, or the failure, instead of stopping the run."""
    try:
        return await coro
    except NotRun as why:
        print(f"  {label}: not run: {why}", flush=True)
        return {"not_run": str(why)}
    except Exception as err:  # noqa: BLE001 - a failed phase is reported, the next ones still run
        print(f"  {label}: FAILED: {type(err).__name__}: {str(err)[:600]}", flush=True)
        return {"failed": f"{type(err).__name__}: {err}"}

def table(res: dict) -> list[str]:
    """The results as the markdown table bench/README.md shows."""
    rows = ["| measure | figure | anchor / aim |", "|---|---|---|"]

    def why(d: dict) -> str | None:
        return d.get("not_run") and f"not run: {d['not_run']}" or d.get("failed") and f"failed: {d['failed']}"

    for driver, d in (res.get("create") or {}).items():
        if why(d):
            rows.append(f"| create, {driver} driver | {why(d)} | |")
            continue
        for run in d["runs"]:
            c, g = run["create"], run["delete"]
            rows.append(f"| create-to-available, {driver}, concurrency {c['concurrency']} | p50 {c['server_p50_ms']} ms, "
                        f"p99 {c['server_p99_ms']} ms (client saw p50 {c['seen_p50_ms']}, p99 {c['seen_p99_ms']}); "
                        f"{c['per_s']}/s; {c['cpu_ms_per_create']} ms server CPU per create"
                        + (f"; {c['errors']} errors" if c["errors"] else "")
                        + " | upstream 2.6 s mean; aim p50 < 50 ms |")
            rows.append(f"| delete, {driver}, concurrency {c['concurrency']} | {g['per_s']}/s (to gone p50 "
                        f"{g['to_gone_p50_ms']} ms); {g['cpu_ms_per_delete']} ms server CPU per delete | |")
    snaps = res.get("snapshot")
    if isinstance(snaps, dict):
        rows.append(f"| snapshot, clone | {why(snaps)} | |")
    for r in snaps or []:
        for key, label in (("snapshot", "snapshot"), ("from_snapshot", "volume from snapshot"),
                           ("clone", "clone of the volume")):
            rows.append(f"| {label}, {r['data_bytes'] / GiB:.3g} GiB of data in {res['args']['snap_size_gb']} GiB "
                        f"({r['format']}) | {r[key]['s'] * 1000:.0f} ms, pool +{r[key]['pool_bytes'] / MiB:.2f} MiB "
                        f"| aim: independent of the data size |")
    b = res.get("backup")
    if b and why(b):
        rows.append(f"| backup, restore | {why(b)} | |")
    elif b:
        read, write = max(b["disk_read"].values()), max(b["disk_write"].values())
        rows.append(f"| disk sequential write / read ({b['data_bytes'] / GiB:.3g} GiB, fsync'd; best of buffered and "
                    f"O_DIRECT) | {write / 1e6:.0f} / {read / 1e6:.0f} MB/s (one core's SHA-256: "
                    f"{b['sha256'] / 1e6:.0f} MB/s) | |")
        rows.append(f"| backup (full) | {b['backup']['mb_s']} MB/s of data = {b['backup']['mb_s'] * 1e6 / read:.0%} of "
                    f"the disk read; {b['backup']['cpu_s_per_gib']} server CPU-s/GiB | aim >= 80% of the disk read |")
        rows.append(f"| restore to a new volume | {b['restore']['mb_s']} MB/s = {b['restore']['mb_s'] * 1e6 / write:.0%} "
                    f"of the disk write; {b['restore']['cpu_s_per_gib']} server CPU-s/GiB | |")
    a = res.get("attach")
    if a and why(a):
        rows.append(f"| attach-to-visible in a guest | {why(a)} | upstream 2.77 s mean attach; aim < 1 s |")
    elif a:
        rows.append(f"| attach-to-visible in a guest ({len(a['rounds'])} rounds) | p50 {a['visible_p50_s']} s, max "
                    f"{a['visible_max_s']} s (the guest looks once a second); volume `in-use` p50 "
                    f"{a['in_use_p50_s']} s | upstream 2.77 s mean attach; aim < 1 s |")
    return rows


async def run(args) -> dict:
    phases = set(args.phases)
    load0 = os.getloadavg()
    res: dict = {"args": {k: v for k, v in vars(args).items() if k != "json"}, "loadavg_start": load0}
    print(f"{os.cpu_count()} CPUs, load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
          f"page cache {'dropped where said' if os.geteuid() == 0 else 'NOT dropped (not root)'}", flush=True)
    print(ANCHORS, flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="nubes-volume-bench-", dir=args.dir))
    print(f"state directories under {tmp}", flush=True)
    try:
        if "create" in phases:
            print(f"\n[create] {args.volumes} blank 1 GiB volumes at concurrency {args.concurrency}, "
                  f"one watcher poll every {args.poll_ms} ms", flush=True)
            res["create"] = {d: await guard(d, phase_create(args, tmp, d)) for d in args.drivers}
        if phases & {"snapshot", "backup"}:
            print(f"\n[snapshot, backup] a {args.snap_size_gb} GiB volume with "
                  f"{', '.join(f'{d:g}' for d in args.data_gib)} GiB of data written into its backend file "
                  f"(qemu-io)", flush=True)
            got = await guard("snapshot/backup", phase_snapshot_backup(args, tmp, phases))
            res.update(got if "snapshot" in got else {"snapshot": got, "backup": got})
        if "attach" in phases:
            print(f"\n[attach] {args.attach_rounds} rounds of attach and detach to a running test guest", flush=True)
            res["attach"] = a = await guard("attach", phase_attach(args, tmp))
            if a.get("visible_p50_s") is not None:
                print(f"  attach-to-visible p50 {a['visible_p50_s']} s, max {a['visible_max_s']} s "
                      f"(the guest looks at its disks once a second); volume in-use p50 {a['in_use_p50_s']} s",
                      flush=True)
    finally:
        if os.environ.get("NUBES_BENCH_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    res["loadavg_end"] = os.getloadavg()
    print("\n" + "\n".join(table(res)))
    print(f"\nload average at the end {res['loadavg_end'][0]:.2f} {res['loadavg_end'][1]:.2f} "
          f"{res['loadavg_end'][2]:.2f}", flush=True)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", default="create,snapshot,backup,attach")
    ap.add_argument("--volumes", type=int, default=200, help="volumes per create run")
    ap.add_argument("--concurrency", default="1,20")
    ap.add_argument("--drivers", default="file,fake", help="drivers of the create phase")
    ap.add_argument("--driver", help="one driver for the create phase (same as --drivers X)")
    ap.add_argument("--poll-ms", type=float, default=10.0, help="status poll interval")
    ap.add_argument("--snap-size-gb", type=int, default=10)
    ap.add_argument("--data-gib", default="2,0.2", help="data written before the snapshots, GiB each round")
    ap.add_argument("--volume-format", choices=("raw", "qcow2"), help="the file backend's format (default: its own)")
    ap.add_argument("--backup-store", choices=("directory", "object"), default="directory",
                    help="where the backup phase's backups go (object: the cloud also runs object storage)")
    ap.add_argument("--attach-rounds", type=int, default=10)
    ap.add_argument("--max-phase-s", type=float, default=600.0, help="bound of each create or delete run")
    ap.add_argument("--dir", help="where the state directories go (default: $TMPDIR)")
    ap.add_argument("--quick", action="store_true",
                    help="20 volumes, a 2 GiB volume with 0.25 and 0.025 GiB of data, 3 attach rounds")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if args.quick:
        args.volumes, args.snap_size_gb, args.data_gib, args.attach_rounds = 20, 2, "0.25,0.025", 3
    args.phases = [p for p in args.phases.split(",") if p]
    unknown = set(args.phases) - {"create", "snapshot", "backup", "attach"}
    if unknown:
        ap.error(f"unknown phases {sorted(unknown)}")
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.drivers = [args.driver] if args.driver else args.drivers.split(",")
    args.data_gib = [float(d) for d in args.data_gib.split(",")]
    out = asyncio.run(run(args))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
