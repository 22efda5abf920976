"""The container and account replicators: every database on this node's devices kept in step
with its other primary replicas, and handoff copies moved to the primaries.

One pass walks ``<device>/containers`` (``accounts``) of each local device of the ring and, for
each database, asks every other primary (``REPLICATE /<device>/<partition>/<hash>``, sent as
a POST with ``X-Backend-Method: REPLICATE``; JSON ``sync``): the peer merges our record's
timestamps and metadata and answers its id, its content hash and its sync point for us (the
last of our ROWIDs it has merged). Then, as Swift's db
replicator does:

- the peer has no copy (404): the whole database is sent (an SQLite backup, as
  application/vnd.sqlite3) and the peer adopts it;
- equal hashes: nothing to send;
- otherwise our rows after the sync point go in ``merge_items`` batches of ``per_diff``; the peer
  keeps the newest row per name (deleted rows are sent as they are, tombstones that win over older
  rows) and moves its sync point on.

Rows only the peer has reach us when the peer's own replicator runs. Before syncing a database
the pass reclaims, as Swift's: deleted rows older than ``reclaim_age`` are forgotten, and a
database whose record was deleted longer ago than that and which holds no live row (a container
whose deletion its account has taken) is removed instead of synced. A database SQLite cannot
read ("file is not a database", "database disk image is malformed") is moved to
``<device>/quarantined/<kind>s/<hash>`` (db.py, as Swift's), and the next pass of a replicator
holding a good replica sends it whole, as to any peer that lacks it. A database on a device
that is not one of its partition's primaries is a handoff: it is pushed to every primary and,
once all of them took it, removed here."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nubes.object.daemons import device_url, load_ring, local_devices, log_pass, repeat
from nubes.object.ring import Ring
from nubes.object.ring.device import Device
from nubes.object.server.backend import METHOD_HEADER
from nubes.object.server.db import AccountBroker, Broker, ContainerBroker, DamagedDatabase
from nubes.object.server.db_server import SQLITE_TYPE
from nubes.object.timestamps import Timestamp

LOG = logging.getLogger(__name__)
BROKERS: dict[str, type[Broker]] = {"container": ContainerBroker, "account": AccountBroker}
PORT_KEYS = {"container": "container_port", "account": "account_port"}
CHUNK = 64 * 1024


@dataclass
class ReplicationStats:
    databases: int = 0        # local databases looked at
    in_sync: int = 0          # peers found equal
    rows_sent: int = 0
    copied: int = 0           # whole databases sent to a peer that had none
    removed: int = 0          # handoff databases removed once every primary had them
    rows_reclaimed: int = 0   # deleted rows older than reclaim_age forgotten
    reclaimed: int = 0        # deleted databases older than reclaim_age removed
    quarantined: int = 0      # damaged databases moved to <device>/quarantined
    failures: int = 0         # peers not reached or refusing (tried again next pass)


class DbReplicator:
    """One pass over one kind's databases on the given local devices."""

    def __init__(self, kind: str, ring: Ring, devices_root: Path, local: list[Device],
                 client: httpx.AsyncClient, per_diff: int = 1000,
                 reclaim_age: float = 7 * 24 * 3600.0, now: float | None = None):
        self.broker_class = BROKERS[kind]
        self.kind = kind
        self.ring = ring
        self.devices_root = devices_root
        self.local = local
        self.client = client
        self.per_diff = per_diff
        now = time.time() if now is None else now
        self.reclaim_before = Timestamp.parse(max(0.0, now - reclaim_age))
        self.stats = ReplicationStats()

    async def run(self) -> ReplicationStats:
        for dev in self.local:
            for path in await asyncio.to_thread(self._databases, dev):
                self.stats.databases += 1
                try:
                    await self.replicate_db(dev, path)
                except DamagedDatabase as exc:
                    # Moved aside: the other replicas' passes send this device a good copy.
                    self.stats.quarantined += 1
                    LOG.warning("%s replicator: damaged database: %s", self.kind, exc)
                except (OSError, ValueError, sqlite3.Error) as exc:
                    # A bad answer, a locked database: left for the next pass.
                    self.stats.failures += 1
                    LOG.warning("%s replicator: %s: %s", self.kind, path, exc)
        return self.stats

    def _databases(self, dev: Device) -> list[Path]:
        """``<kind>s/<partition>/<suffix>/<hash>/<hash>.db`` of the device."""
        root = self.devices_root / dev.device / f"{self.kind}s"
        return sorted(p for p in root.glob("*/*/*/*.db") if p.stem == p.parent.name)

    async def replicate_db(self, dev: Device, path: Path) -> None:
        partition = int(path.parent.parent.parent.name)
        if partition >= self.ring.partition_count:
            LOG.warning("%s replicator: %s is in no partition of the ring", self.kind, path)
            return
        broker = self.broker_class(path)
        if await self._reclaim(broker, path):
            return
        primaries = self.ring.primaries(partition)
        peers = [p for p in primaries if p.id != dev.id]
        info = await asyncio.to_thread(broker.replication_info)
        results = await asyncio.gather(*(self._sync(broker, info, peer, partition, path)
                                         for peer in peers))
        if len(peers) == len(primaries) and all(results):
            # A handoff every primary has: gone, unless a write came in meanwhile.
            if (await asyncio.to_thread(broker.replication_info))["max_row"] == info["max_row"]:
                await asyncio.to_thread(broker.remove)
                self.stats.removed += 1
                LOG.info("%s replicator: handoff %s reverted to the primaries", self.kind, path)

    async def _reclaim(self, broker: Broker, path: Path) -> bool:
        """Forget the deleted rows older than ``reclaim_age``; True when the whole database was
        removed (deleted that long ago, holding nothing): every replica's replicator does the
        same on its own pass, before it would sync, so none is sent back."""
        rows = await asyncio.to_thread(broker.reclaim, self.reclaim_before)
        self.stats.rows_reclaimed += rows
        if not await asyncio.to_thread(broker.reclaimable, self.reclaim_before):
            return False
        await asyncio.to_thread(broker.remove)
        self.stats.reclaimed += 1
        LOG.info("%s replicator: %s deleted before %s, reclaimed", self.kind, path,
                 self.reclaim_before.normal)
        return True

    async def _request(self, url: str, headers: dict[str, str] | None = None, **kwargs: Any
                       ) -> httpx.Response | None:
        """A REPLICATE, sent as a POST naming it (see backend.TUNNELLED); None when no answer."""
        headers = {METHOD_HEADER: "REPLICATE", **(headers or {})}
        try:
            return await self.client.request("POST", url, headers=headers, **kwargs)
        except (httpx.HTTPError, OSError) as exc:
            LOG.info("%s replicator: %s: %s", self.kind, url, exc)
            return None

    async def _sync(self, broker: Broker, info: dict, peer: Device, partition: int,
                    path: Path) -> bool:
        """True when the peer holds everything we hold (as of ``info``)."""
        url = device_url(peer, partition, "/" + path.stem)
        resp = await self._request(url, json={"op": "sync", **info})
        if resp is not None and resp.status_code == 404:
            return await self._send_db(broker, url, path)
        if resp is None or resp.status_code != 200:
            self.stats.failures += 1
            return False
        remote = resp.json()
        if remote["hash"] == info["hash"]:
            self.stats.in_sync += 1
            return True
        point = int(remote["point"])
        while True:
            rows = await asyncio.to_thread(broker.rows_since, point, self.per_diff)
            if not rows:
                return True
            resp = await self._request(url, json={"op": "merge_items", "id": info["id"],
                                                  "items": [r[1:] for r in rows],
                                                  "point": rows[-1][0]})
            if resp is None or resp.status_code != 200:
                self.stats.failures += 1
                return False
            self.stats.rows_sent += len(rows)
            point = rows[-1][0]

    async def _send_db(self, broker: Broker, url: str, path: Path) -> bool:
        tmp_dir = path.parents[4] / "tmp"            # <device>/tmp: same filesystem
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=tmp_dir, suffix=".db")
        os.close(fd)
        copy = Path(name)
        try:
            await asyncio.to_thread(broker.snapshot, copy)
            resp = await self._request(url, content=_read(copy), headers={
                "Content-Type": SQLITE_TYPE, "Content-Length": str(copy.stat().st_size)})
        finally:
            copy.unlink(missing_ok=True)
        if resp is None or resp.status_code != 201:
            self.stats.failures += 1        # 409: the peer made one meanwhile; synced next pass
            return False
        self.stats.copied += 1
        return True


async def _read(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as f:
        while chunk := await asyncio.to_thread(f.read, CHUNK):
            yield chunk


async def replicate_once(conf: Any, state_dir: Path, kinds: tuple[str, ...] = ("account", "container")
                         ) -> dict[str, ReplicationStats]:
    """One pass of each kind's replicator over this node's devices (a kind whose server does
    not run here, its port 0, is left out)."""
    out = {}
    async with httpx.AsyncClient(timeout=conf.node_timeout) as client:
        for kind in kinds:
            port = int(getattr(conf, PORT_KEYS[kind]))
            if not port:
                continue
            ring = load_ring(conf, state_dir, kind)
            local = local_devices(ring, conf, state_dir, port)
            replicator = DbReplicator(kind, ring, conf.devices_root(state_dir), local, client,
                                      conf.db_replicator_per_diff, conf.reclaim_age)
            out[kind] = stats = await replicator.run()
            log_pass(f"{kind} replicator", stats)
    return out


async def run_db_replicator(rt: Any) -> None:
    """The agent: the container and account replicators every ``db_replicator_interval``."""
    conf, state_dir = rt.service_conf, Path(rt.conf.core.state_dir)
    await repeat(conf.db_replicator_interval, lambda: replicate_once(conf, state_dir),
                 "container and account replicator")
