"""The object replicator: each partition on this node's devices made the same on all its replicas.

For each local device (a device of the object ring at this node's address) and each partition
directory on it, as Swift's object replicator does, over an ssync-like HTTP exchange:

- tombstones older than ``reclaim_age`` are removed first (with obsolete files and empty
  directories), so that every replica forgets a deletion at about the same time;
- a partition this device is a *primary* of: its suffix hashes are compared with each other
  primary's (``REPLICATE``); for the suffixes that differ, each object's newest files are offered
  (``SSYNC``, the missing check: the peer names what it lacks) and those the peer lacks are pushed
  as ``PUT``, ``DELETE`` and ``POST`` marked ``X-Backend-Replication`` with their original
  timestamps and metadata, so a newer copy on the peer is never overwritten. Each node only
  pushes: a peer's newer files come back by the peer's own pass;
- a partition held on a *handoff* (written while a primary was down, or left by a rebalance):
  pushed the same way to every primary, then its files removed once every primary has confirmed
  them (Swift's revert; a file that arrived during the pass is kept for the next one);
- a primary whose disk has failed (507) is stood in for by the next handoff, pushed to instead.

Suffix hashes are computed from the directory listing on every REPLICATE, never cached, so a
replica file removed from disk behind the servers' back shows as a difference at the next pass
(Swift, which caches them in hashes.pkl, misses it until the cache is invalidated). For the same
reason there is no "recompute your hashes" request after a push: instead the missing check is
asked once more, which also confirms what a handoff may delete."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from nubes.object.ring import Device, Ring, RingError
from nubes.object.server.backend import METHOD_HEADER, TUNNELLED, Devices, HTTPError
from nubes.object.server.diskfile import (CorruptFile, DiskFile, is_object_hash, newest_files,
                                          read_metadata, read_range, suffix_hashes)
from nubes.object.timestamps import Timestamp

LOG = logging.getLogger(__name__)

# What a peer may answer to each request without the push failing: 409 and a DELETE's 404 mean
# it already has this version or a newer one.
ACCEPTED = {"REPLICATE": (200,), "SSYNC": (200,), "PUT": (201, 409), "DELETE": (204, 404, 409),
            "POST": (202, 409)}


@dataclass
class ReplicationStats:
    """What one pass did (logged at its end, returned by ``replicate_once``)."""

    partitions: int = 0          # partition directories checked
    suffixes_synced: int = 0     # suffixes that differed from a peer's and were pushed to it
    objects_pushed: int = 0      # files sent: data, tombstones, .meta
    handoffs_reverted: int = 0   # handoff partitions removed once every primary had them
    reclaimed: int = 0           # tombstones older than reclaim_age removed
    quarantined: int = 0         # local copies found damaged while pushing them
    failures: int = 0            # peers not reached, or refusing a push
    seconds: float = 0.0


@dataclass
class Version:
    """An object's newest files in one partition on this device."""

    dir: Path
    main: tuple[Timestamp, str]               # the newest .data or .ts
    meta: tuple[Timestamp, str] | None        # a .meta newer than a .data

    def offer(self) -> dict[str, str | None]:
        return {"ts": self.main[0].internal, "meta": self.meta[0].internal if self.meta else None}


class PushError(Exception):
    """A peer that could not be reached (``status`` None), or that answered what a push does not
    accept."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _rmdir_if_empty(path: Path) -> bool:
    try:
        path.rmdir()
        return True
    except OSError:         # not empty (or already gone)
        return not path.exists()


def tidy_partition(part_dir: Path, reclaim_before: float) -> int:
    """Remove obsolete files, tombstones older than ``reclaim_before`` (seconds since the epoch)
    and the directories left empty; the number of tombstones reclaimed."""
    reclaimed = 0
    for suffix in _listdir(part_dir):
        suffix_dir = part_dir / suffix
        for name in filter(is_object_hash, _listdir(suffix_dir)):     # strays are left alone
            hash_dir = suffix_dir / name
            main, meta, doomed = newest_files(hash_dir)
            if main is not None and main[1].endswith(".ts") and main[0].seconds < reclaim_before:
                doomed += [main[1]] + ([meta[1]] if meta else [])
                reclaimed += 1
            for file_name in doomed:
                try:
                    os.unlink(hash_dir / file_name)
                except FileNotFoundError:
                    pass
            _rmdir_if_empty(hash_dir)
        _rmdir_if_empty(suffix_dir)
    return reclaimed


def partition_versions(part_dir: Path, suffixes: list[str] | None,
                       reclaim_before: float) -> dict[str, Version]:
    """Each object's newest files under ``suffixes`` (all when None), by hash; tombstones due for
    reclaiming are not offered (a peer would only keep them alive)."""
    out: dict[str, Version] = {}
    for suffix in suffixes if suffixes is not None else _listdir(part_dir):
        for name in filter(is_object_hash, _listdir(part_dir / suffix)):
            main, meta, _ = newest_files(part_dir / suffix / name)
            if main is None or (main[1].endswith(".ts") and main[0].seconds < reclaim_before):
                continue
            out[name] = Version(part_dir / suffix / name, main, meta)
    return out


def remove_versions(versions: dict[str, Version]) -> None:
    """A reverted handoff's files: exactly those offered (a newer one that came since stays)."""
    for version in versions.values():
        for _, file_name in filter(None, (version.main, version.meta)):
            try:
                os.unlink(version.dir / file_name)
            except FileNotFoundError:
                pass
        if _rmdir_if_empty(version.dir):
            _rmdir_if_empty(version.dir.parent)


async def _file_body(path: Path, length: int) -> AsyncIterator[bytes]:
    chunks = read_range(path, 0, length)
    try:
        while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
            yield chunk
    finally:
        chunks.close()          # the file, also when the push stops half way


class ObjectReplicator:
    """One storage node's object replicator: its devices are the object ring's devices at one of
    ``addresses`` (``(ip, port)`` of this node's object server) found under ``devices``."""

    def __init__(self, devices: Devices, ring: Ring, addresses: set[tuple[str, int]], *,
                 concurrency: int = 4, reclaim_age: float = 7 * 24 * 3600.0, timeout: float = 10.0,
                 client: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time):
        self.devices = devices
        self.ring = ring
        self.addresses = addresses
        self.concurrency = max(1, concurrency)
        self.reclaim_age = reclaim_age
        self.clock = clock
        self._own_client = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout)

    @classmethod
    def from_config(cls, conf: Any, state_dir: Path,
                    client: httpx.AsyncClient | None = None) -> ObjectReplicator:
        devices = Devices(conf.devices_root(state_dir), conf.mount_check, conf.fallocate_reserve)
        ring = Ring.load(conf.rings_dir(state_dir) / "object.ring.gz", conf.hash_secret())
        return cls(devices, ring, {(conf.storage_ip, int(conf.object_port))},
                   concurrency=conf.replicator_concurrency, reclaim_age=conf.reclaim_age,
                   timeout=conf.backend_timeout, client=client)

    async def close(self) -> None:
        if self._own_client:
            await self.client.aclose()

    def local_devices(self) -> list[Device]:
        """This node's devices in the ring, except those missing (or unmounted, with mount_check)."""
        out = []
        for dev in self.ring.devs:
            if dev is None or not {(dev.ip, dev.port),
                                   (dev.replication_ip, dev.replication_port)} & self.addresses:
                continue
            try:
                self.devices.path(dev.device)
            except HTTPError as exc:
                LOG.warning("object replicator: skipping device %s: %s", dev.device, exc.message)
                continue
            out.append(dev)
        return out

    async def replicate_once(self) -> ReplicationStats:
        """One pass over every partition of every local device."""
        started = time.monotonic()
        stats = ReplicationStats()
        try:
            self.ring.reload_if_changed()
        except (RingError, OSError) as exc:
            LOG.warning("object replicator: keeping the ring loaded before: %s", exc)
        jobs = []
        for dev in self.local_devices():
            for name in await asyncio.to_thread(_listdir, self.devices.root / dev.device / "objects"):
                if name.isdigit() and int(name) < self.ring.partition_count:
                    jobs.append((dev, int(name)))
        gate = asyncio.Semaphore(self.concurrency)

        async def one(dev: Device, part: int) -> None:
            async with gate:
                try:
                    await self._partition(dev, part, stats)
                except Exception:
                    stats.failures += 1
                    LOG.exception("object replicator: partition %s/%d failed", dev.device, part)

        await asyncio.gather(*(one(dev, part) for dev, part in jobs))
        stats.seconds = time.monotonic() - started
        busy = (stats.suffixes_synced or stats.objects_pushed or stats.handoffs_reverted or stats.reclaimed
                or stats.quarantined or stats.failures)
        LOG.log(logging.INFO if busy else logging.DEBUG,      # an idle pass every 30 s is not news
                "object replicator: %d partitions checked, %d suffixes synced, %d objects pushed, "
                 "%d handoffs reverted, %d tombstones reclaimed, %d quarantined, %d failures, "
                 "in %.2f s", stats.partitions, stats.suffixes_synced, stats.objects_pushed,
                 stats.handoffs_reverted, stats.reclaimed, stats.quarantined, stats.failures,
                 stats.seconds)
        return stats

    def _part_dir(self, dev: Device, part: int) -> Path:
        return self.devices.root / dev.device / "objects" / str(part)

    async def _partition(self, dev: Device, part: int, stats: ReplicationStats) -> None:
        part_dir = self._part_dir(dev, part)
        stats.partitions += 1
        reclaim_before = self.clock() - self.reclaim_age
        stats.reclaimed += await asyncio.to_thread(tidy_partition, part_dir, reclaim_before)
        primaries = self.ring.primaries(part)
        if all(p.id != dev.id for p in primaries):
            await self._revert(dev, part, primaries, stats)
            return
        peers = [p for p in primaries if p.id != dev.id]
        handoffs = (h for h in self.ring.handoffs(part) if h.id != dev.id)
        while peers:
            peer = peers.pop(0)
            try:
                await self._sync(dev, part, peer, stats)
            except PushError as exc:
                stats.failures += 1
                LOG.warning("object replicator: %s/%d to %s: %s", dev.device, part, peer, exc)
                # A failed disk (507) may be gone for long: as Swift's, its copy goes to the next
                # handoff meanwhile (which reverts it once the disk is back). A node that does not
                # answer is only waited for: it is likely restarting with its disks.
                if exc.status == 507 and (spare := next(handoffs, None)) is not None:
                    peers.append(spare)

    async def _revert(self, dev: Device, part: int, primaries: list[Device],
                      stats: ReplicationStats) -> None:
        """A handoff's partition pushed to every primary, removed once all of them have it."""
        part_dir = self._part_dir(dev, part)
        held = await asyncio.to_thread(partition_versions, part_dir, None,
                                       self.clock() - self.reclaim_age)
        complete = True
        for peer in primaries:
            try:
                complete &= await self._sync(dev, part, peer, stats)
            except PushError as exc:
                complete = False
                stats.failures += 1
                LOG.warning("object replicator: handoff %s/%d to %s: %s", dev.device, part, peer, exc)
        if not complete:
            return
        await asyncio.to_thread(remove_versions, held)
        if await asyncio.to_thread(_rmdir_if_empty, part_dir):
            stats.handoffs_reverted += 1
            LOG.info("object replicator: handoff partition %s/%d reverted to its primaries",
                     dev.device, part)

    async def _sync(self, dev: Device, part: int, peer: Device, stats: ReplicationStats) -> bool:
        """Push to ``peer`` what it lacks of this partition; True when it then lacks nothing."""
        part_dir = self._part_dir(dev, part)
        local = await asyncio.to_thread(suffix_hashes, part_dir)
        if not local:
            return True
        remote = (await self._request("REPLICATE", peer, part)).json()
        differing = sorted(s for s, h in local.items() if remote.get(s) != h)
        if not differing:
            return True
        versions = await asyncio.to_thread(partition_versions, part_dir, differing,
                                           self.clock() - self.reclaim_age)
        wanted = await self._missing(peer, part, versions)
        for name, what in sorted(wanted.items()):
            if name in versions:
                stats.objects_pushed += await self._push(dev, part, peer, versions[name], what, stats)
        stats.suffixes_synced += len(differing)
        return not await self._missing(peer, part, versions)

    async def _missing(self, peer: Device, part: int,
                       versions: dict[str, Version]) -> dict[str, list[str]]:
        if not versions:
            return {}
        offers = {name: v.offer() for name, v in versions.items()}
        return (await self._request("SSYNC", peer, part, json=offers)).json()

    async def _push(self, dev: Device, part: int, peer: Device, version: Version, what: list[str],
                    stats: ReplicationStats) -> int:
        """Send the files of ``version`` that ``peer`` wants; how many were sent."""
        try:
            sent = 0
            data_meta = await asyncio.to_thread(read_metadata, version.dir / version.main[1])
            name = data_meta.get("name")
            if not isinstance(name, str) or not name.startswith("/"):
                raise CorruptFile(f"{version.dir / version.main[1]}: no object name")
            if "data" in what:
                await self._push_main(peer, part, name, version, data_meta)
                sent += 1
            if "meta" in what and version.meta is not None:
                post_meta = await asyncio.to_thread(read_metadata, version.dir / version.meta[1])
                headers = {k: str(v) for k, v in post_meta.items() if k != "name"}
                headers["X-Timestamp"] = version.meta[0].internal
                await self._request("POST", peer, part, name, headers=headers)
                sent += 1
            return sent
        except (CorruptFile, ValueError, UnicodeDecodeError) as exc:
            await self._quarantine(dev, part, version, f"damaged: {exc}", stats)
            return 0

    async def _push_main(self, peer: Device, part: int, name: str, version: Version,
                         metadata: dict[str, Any]) -> None:
        ts, file_name = version.main
        if file_name.endswith(".ts"):
            await self._request("DELETE", peer, part, name, headers={"X-Timestamp": ts.internal})
            return
        length = int(metadata["Content-Length"])
        headers = {k: str(v) for k, v in metadata.items() if k not in ("name", "Content-Length")}
        headers.update({"X-Timestamp": ts.internal, "Content-Length": str(length)})
        resp = await self._request("PUT", peer, part, name, headers=headers,
                                   content=_file_body(version.dir / file_name, length),
                                   accept=ACCEPTED["PUT"] + (422,))
        if resp.status_code == 422:         # our body is not its ETag: this copy is damaged
            raise CorruptFile(f"{version.dir / file_name}: the body's MD5 is not its ETag")

    async def _quarantine(self, dev: Device, part: int, version: Version, why: str,
                          stats: ReplicationStats) -> None:
        LOG.warning("object replicator: quarantining %s: %s", version.dir, why)
        diskfile = DiskFile(self.devices.root / dev.device, str(part), bytes.fromhex(version.dir.name))
        await asyncio.to_thread(diskfile.quarantine)
        stats.quarantined += 1

    async def _request(self, method: str, peer: Device, part: int, name: str = "", *,
                       headers: dict[str, str] | None = None, accept: tuple[int, ...] | None = None,
                       **kw: Any) -> httpx.Response:
        host = f"[{peer.replication_ip}]" if ":" in peer.replication_ip else peer.replication_ip
        url = f"http://{host}:{peer.replication_port}/{quote(peer.device)}/{part}{quote(name)}"
        headers = dict(headers or {})
        if method in ("PUT", "DELETE", "POST"):
            headers["X-Backend-Replication"] = "True"
        sent = method
        if method in TUNNELLED:             # as a POST: the servers' HTTP parser knows no other verbs
            sent, headers[METHOD_HEADER] = "POST", method
        try:
            resp = await self.client.request(sent, url, headers=headers, **kw)
        except (httpx.HTTPError, OSError) as exc:
            raise PushError(f"{method} {url}: {exc!r}") from None
        if resp.status_code not in (accept or ACCEPTED[method]):
            raise PushError(f"{method} {url} answered {resp.status_code}: {resp.text[:200]!r}",
                            resp.status_code)
        return resp


async def run_replicator(rt: Any) -> None:
    """``nubes up``'s replicator: a pass every ``replicator_interval`` seconds (0: not run here)."""
    conf = rt.service_conf
    interval = float(conf.replicator_interval)
    if interval <= 0:
        LOG.info("object replicator not run in this process ([object] replicator_interval = 0)")
        return
    replicator: ObjectReplicator | None = None
    try:
        while True:
            await asyncio.sleep(interval)       # the servers beside it are up by then
            try:
                if replicator is None:
                    replicator = ObjectReplicator.from_config(conf, Path(rt.conf.core.state_dir))
                await replicator.replicate_once()
            except (RingError, OSError) as exc:
                LOG.warning("object replicator: pass skipped: %s", exc)
            except Exception:
                LOG.exception("object replicator: pass failed")
    finally:
        if replicator is not None:
            await replicator.close()
