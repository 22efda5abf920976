"""The object expirer: objects past their X-Delete-At are deleted, so that their space is
reclaimed and they leave their container's listing (a GET already answers 404 once the time has
passed, whatever the expirer has done).

Upstream Swift queues each such object as a row of a hidden ``.expiring_objects`` account, sent
there by the object server along headers the proxy adds. Here the object server keeps the queue
itself, on the device holding the object (``<device>/expiring/<day>/<delete_at>-<hash>``, written
on a PUT or POST with X-Delete-At, nubes.object.server.backend): no hidden account, no proxy
headers, and the entry lives as long as a replica of the object on that device. A pass takes every
entry now due and sends ``DELETE`` to each of the object's primaries (object ring) with
``X-Timestamp`` = the X-Delete-At (so a later PUT of the object wins over it), ``X-If-Delete-At``
(so an object whose X-Delete-At a POST changed, or a new version, is left alone: 412) and one
container replica each to update (container ring), as the proxy's DELETE would. The entry is
removed once every primary answered 2xx, 404 (not there), 409 (a tombstone or a newer version
already there) or 412 (no longer to expire then); otherwise it stays for the next pass. Each
replica's device has its own entry, so the deletes are sent up to once per replica (the extra
ones answer 409), and an entry on a handoff device works as well as one on a primary."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nubes.object.daemons import delete_on_primaries, device_dirs, load_ring, log_pass, repeat
from nubes.object.ring import Ring
from nubes.object.timestamps import Timestamp

LOG = logging.getLogger(__name__)
DONE = (404, 409, 412)         # besides 2xx: nothing left to delete on that node


@dataclass
class ExpireStats:
    due: int = 0              # entries due
    expired: int = 0          # ... handled on every primary, removed
    kept: int = 0             # ... some primary failed: tried again next pass
    damaged: int = 0          # ... unreadable: removed


def due_entries(device: Path, now: float) -> list[Path]:
    """The device's queue entries whose X-Delete-At is not after ``now``, oldest first."""
    root = device / "expiring"
    if not root.is_dir():
        return []
    out = []
    for day in sorted(root.iterdir()):
        if not day.name.isdigit() or int(day.name) > now:
            break
        for entry in sorted(day.iterdir()):
            stamp = entry.name.split("-", 1)[0]
            if not stamp.isdigit() or int(stamp) > now:
                break
            out.append(entry)
    return out


class Expirer:
    def __init__(self, object_ring: Ring, container_ring: Ring, client: httpx.AsyncClient):
        self.object_ring = object_ring
        self.container_ring = container_ring
        self.client = client
        self.stats = ExpireStats()

    async def expire(self, entry: Path) -> None:
        self.stats.due += 1
        try:
            record = json.loads(await asyncio.to_thread(entry.read_bytes))
            account, container, obj = record["account"], record["container"], record["obj"]
            delete_at = int(record["delete_at"])
        except FileNotFoundError:
            return
        except (ValueError, KeyError, TypeError) as exc:
            self.stats.damaged += 1
            LOG.warning("object expirer: %s is damaged (%s); removed", entry, exc)
            await asyncio.to_thread(_remove, entry)
            return
        base = {"X-Timestamp": Timestamp.parse(delete_at).internal, "X-If-Delete-At": str(delete_at)}
        if await delete_on_primaries(self.client, self.object_ring, self.container_ring,
                                     (account, container, obj), base, "Container", DONE, "expirer"):
            await asyncio.to_thread(_remove, entry)
            self.stats.expired += 1
        else:
            self.stats.kept += 1


def _remove(entry: Path) -> None:
    entry.unlink(missing_ok=True)
    try:
        entry.parent.rmdir()                 # the day's directory, once empty
    except OSError:
        pass


async def expire_once(conf: Any, state_dir: Path, now: float | None = None) -> ExpireStats:
    """One pass over the queue entries of this node's devices due by ``now`` (default: now)."""
    now = time.time() if now is None else now
    async with httpx.AsyncClient(timeout=conf.node_timeout) as client:
        expirer = Expirer(load_ring(conf, state_dir, "object"),
                          load_ring(conf, state_dir, "container"), client)
        for device in device_dirs(conf, state_dir):
            for entry in await asyncio.to_thread(due_entries, device, now):
                await expirer.expire(entry)
    log_pass("expirer", expirer.stats)
    return expirer.stats


async def run_expirer(rt: Any) -> None:
    """The agent: the expirer every ``expirer_interval`` (where an object server runs)."""
    conf, state_dir = rt.service_conf, Path(rt.conf.core.state_dir)
    if not conf.object_port:
        return
    await repeat(conf.expirer_interval, lambda: expire_once(conf, state_dir), "expirer")
