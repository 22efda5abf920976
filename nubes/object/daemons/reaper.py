"""The account reaper: the containers and objects of a deleted account are deleted.

A reseller's ``DELETE`` of an account only marks its databases deleted (their delete timestamp
after their put timestamp; Swift's status ``DELETED``): the account answers 404 from then on, and
its data stays. A pass of the reaper walks the account databases on this node's devices and takes
those that are deleted, longer ago than ``reaper_delay`` (Swift's ``delay_reaping``), and whose
first primary replica is this device (as in Swift, only that one reaps, so that the replicas do
not all do the same work). For each container the database lists, it reads the container's
listing from a container primary and deletes every object on all its object primaries (a backend
``DELETE`` with ``X-Timestamp`` now, newer than the object, and one container replica each to
update, as the proxy's DELETE would), then the container on all its container primaries (with
the account update headers and ``X-Account-Override-Deleted: yes``, which lets the account server
record the container's deletion in a deleted account). A request that fails (a node down, a
container still holding an object) leaves that container for the next pass, which starts over;
every delete it repeats is harmless (404 or 409 on a node that has it already). Once the account
lists no container, nothing is left to do: the account replicator reclaims the database after
``reclaim_age`` (db_replicator.py)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nubes.object.daemons import (delete_on_primaries, device_url, load_ring, local_devices, log_pass,
                                  repeat)
from nubes.object.ring import Ring
from nubes.object.ring.device import Device
from nubes.object.server.db import AccountBroker
from nubes.object.timestamps import Timestamp

LOG = logging.getLogger(__name__)
DONE = (404, 409)          # besides 2xx: not there, or already deleted (or newer) on that node
PAGE = 1000                # names per listing request
BATCH = 16                 # objects deleted at once


@dataclass
class ReapStats:
    databases: int = 0        # account databases looked at
    accounts: int = 0         # ... deleted, past the delay, first primary here: reaped
    emptied: int = 0          # ... listing no container any more (left to reclaim)
    containers: int = 0       # containers deleted on all their primaries
    objects: int = 0          # objects deleted on all their primaries
    failures: int = 0         # deletes or listings that failed (tried again next pass)


class Reaper:
    def __init__(self, rings: dict[str, Ring], client: httpx.AsyncClient, delay: float,
                 now: float):
        self.rings = rings
        self.client = client
        self.delay = delay
        self.now = now
        self.stats = ReapStats()

    async def reap_db(self, dev: Device, path: Path) -> None:
        self.stats.databases += 1
        partition = int(path.parent.parent.parent.name)
        ring = self.rings["account"]
        if partition >= ring.partition_count or ring.primaries(partition)[0].id != dev.id:
            return
        broker = AccountBroker(path)
        info = await asyncio.to_thread(broker.info)
        if not await asyncio.to_thread(broker.is_deleted):
            return
        if info.delete_timestamp.seconds + self.delay > self.now:
            return
        self.stats.accounts += 1
        marker, listed = "", 0
        while True:
            rows = await asyncio.to_thread(broker.listing, "name", PAGE, marker)
            if not rows:
                break
            for (name,) in rows:
                listed += 1
                await self.reap_container(info.account, name)
            marker = rows[-1][0]
        if not listed:
            self.stats.emptied += 1
        LOG.info("account reaper: %s (%s): %d containers listed", info.account, path, listed)

    async def reap_container(self, account: str, container: str) -> None:
        cpart, cnodes = self.rings["container"].get_nodes(account, container)
        failed = False
        marker = ""
        while True:
            names = await self._list(cpart, cnodes, account, container, marker)
            if names is None:
                self.stats.failures += 1
                return
            if not names:
                break
            for i in range(0, len(names), BATCH):
                results = await asyncio.gather(*(self.reap_object(account, container, n)
                                                 for n in names[i:i + BATCH]))
                failed = failed or not all(results)
            marker = names[-1]
        if failed:
            return               # the container is not empty: deleted by a later pass
        headers = {"X-Timestamp": Timestamp.now().internal, "X-Account-Override-Deleted": "yes"}
        if await delete_on_primaries(self.client, self.rings["container"], self.rings["account"],
                                     (account, container), headers, "Account", DONE, "account reaper"):
            self.stats.containers += 1
        else:
            self.stats.failures += 1

    async def reap_object(self, account: str, container: str, obj: str) -> bool:
        """``obj`` deleted on all its primaries; False (counted) when one failed."""
        if await delete_on_primaries(self.client, self.rings["object"], self.rings["container"],
                                     (account, container, obj), {"X-Timestamp": Timestamp.now().internal},
                                     "Container", DONE, "account reaper"):
            self.stats.objects += 1
            return True
        self.stats.failures += 1
        return False

    async def _list(self, part: int, nodes: list[Device], account: str, container: str,
                    marker: str) -> list[str] | None:
        """A page of the container's object names after ``marker`` from the first primary that
        answers; [] when they all say it is not there (or deleted), None when none answered."""
        params = {"format": "json", "limit": str(PAGE), "marker": marker}
        not_found = 0
        for node in nodes:
            url = device_url(node, part, f"/{account}/{container}")
            try:
                resp = await self.client.get(url, params=params)
            except (httpx.HTTPError, OSError) as exc:
                LOG.info("account reaper: GET %s: %s", url, exc)
                continue
            if resp.status_code == 200:
                return [entry["name"] for entry in resp.json() if "name" in entry]
            if resp.status_code == 204:
                return []
            if resp.status_code == 404:
                not_found += 1
        return [] if not_found == len(nodes) else None


def _account_dbs(root: Path) -> list[Path]:
    """``accounts/<partition>/<suffix>/<hash>/<hash>.db`` of a device."""
    return sorted(p for p in (root / "accounts").glob("*/*/*/*.db") if p.stem == p.parent.name)


async def reap_once(conf: Any, state_dir: Path, now: float | None = None) -> ReapStats:
    """One pass over the account databases of this node's devices (none where no account
    server runs, its port 0)."""
    now = time.time() if now is None else now
    if not conf.account_port:
        return ReapStats()
    rings = {kind: load_ring(conf, state_dir, kind) for kind in ("account", "container", "object")}
    root = conf.devices_root(state_dir)
    async with httpx.AsyncClient(timeout=conf.node_timeout) as client:
        reaper = Reaper(rings, client, conf.reaper_delay, now)
        for dev in local_devices(rings["account"], conf, state_dir, int(conf.account_port)):
            for path in await asyncio.to_thread(_account_dbs, root / dev.device):
                try:
                    await reaper.reap_db(dev, path)
                except (OSError, ValueError, sqlite3.Error) as exc:
                    # A damaged database is the account replicator's to quarantine.
                    reaper.stats.failures += 1
                    LOG.warning("account reaper: %s: %s", path, exc)
    log_pass("account reaper", reaper.stats)
    return reaper.stats


async def run_reaper(rt: Any) -> None:
    """The agent: the account reaper every ``reaper_interval`` (where an account server runs)."""
    conf, state_dir = rt.service_conf, Path(rt.conf.core.state_dir)
    if not conf.account_port:
        return
    await repeat(conf.reaper_interval, lambda: reap_once(conf, state_dir), "account reaper")
