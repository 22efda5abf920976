"""The object updater and the container updater: the updates a server could not deliver at once,
and each container's figures to its account.

**Object updater.** A storage server that cannot tell another of a change leaves an async
pending file (``<device>/async_pending/<suffix>/<hash>-<timestamp>``, written by
``nubes.object.server.backend``): the object server's row updates to the container servers, and
the container server's reports of a container PUT or DELETE to the account servers (its records
have ``obj`` null). A pass replays each file's ``op`` and ``headers`` to each of its targets at
``/<device>/<partition>/<account>/<container>[/<obj>]``; the file is removed once every target
answered 2xx, rewritten with only the targets still failing otherwise. Newest-wins on the
receiving side makes a replay safe in any order and any number of times.

**Container updater.** The container server reports a container to its account only when the
container is made or deleted; its object count and bytes change with every object row. A pass
sends each local container database whose figures changed since last reported (Swift's
``reported_*`` columns; here the ``reported`` table) to every primary of its account, as
``PUT /<device>/<partition>/<account>/<container>`` with ``X-Put-Timestamp``,
``X-Delete-Timestamp``, ``X-Object-Count`` and ``X-Bytes-Used``, and records the figures once all
took them, so account listings and totals converge on the containers'."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nubes.core.durable import fsync_dir
from nubes.object.daemons import device_dirs, load_ring, local_devices, log_pass, repeat
from nubes.object.ring import Ring
from nubes.object.ring.device import Device
from nubes.object.server import backend
from nubes.object.server.backend import UpdateTarget
from nubes.object.server.db import ContainerBroker
from nubes.object.timestamps import Timestamp

LOG = logging.getLogger(__name__)


@dataclass
class UpdateStats:
    pending: int = 0          # async pending files looked at
    delivered: int = 0        # ... removed: every target took the update
    kept: int = 0             # ... kept (rewritten when some targets took it)
    damaged: int = 0          # ... unreadable, moved to <device>/quarantined/async_pending
    reported: int = 0         # containers reported to their account
    report_failures: int = 0


def _pending_files(device: Path) -> list[Path]:
    root = device / "async_pending"
    return sorted(p for p in root.glob("*/*") if p.is_file())


async def update_pending(path: Path, timeout: float, stats: UpdateStats) -> None:
    """Deliver one async pending file to its targets."""
    stats.pending += 1
    try:
        record = await asyncio.to_thread(backend.read_async_pending, path)
        targets = [UpdateTarget(t["host"], t["device"], str(t["partition"]))
                   for t in record["targets"]]
        op, headers = record["op"], dict(record["headers"])
        names = (record["account"], record["container"], record["obj"])
    except FileNotFoundError:
        return                                       # delivered by another pass meanwhile
    except (ValueError, KeyError, TypeError) as exc:
        stats.damaged += 1
        LOG.warning("object updater: %s is damaged (%s); moved aside", path, exc)
        await asyncio.to_thread(_quarantine, path)
        return
    url_path = "/" + "/".join(n for n in names if n is not None)
    results = await asyncio.gather(*(backend.send_update(t, op, url_path, headers, timeout)
                                     for t in targets))
    failed = [t for t, ok in zip(targets, results, strict=True) if not ok]
    if not failed:
        await asyncio.to_thread(_remove, path)
        stats.delivered += 1
        return
    stats.kept += 1
    if len(failed) < len(targets):
        record["targets"] = [{"host": t.host, "device": t.device, "partition": t.partition}
                             for t in failed]
        device = path.parents[2]
        await asyncio.to_thread(backend.durable_write, device / "tmp", path,
                                json.dumps(record, sort_keys=True).encode())


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()                          # the suffix directory, when now empty
        fsync_dir(path.parent.parent)
    except OSError:
        fsync_dir(path.parent)


def _quarantine(path: Path) -> None:
    target = path.parents[2] / "quarantined" / "async_pending" / path.name
    backend.make_dirs(target.parent)
    os.replace(path, target)


async def update_containers(account_ring: Ring, devices_root: Path, local: list[Device],
                            timeout: float, stats: UpdateStats) -> None:
    """Report every container on the ``local`` devices whose figures changed to its account's
    primaries."""
    for dev in local:
        root = devices_root / dev.device / "containers"
        paths = await asyncio.to_thread(lambda r=root: sorted(r.glob("*/*/*/*.db")))
        for path in paths:
            broker = ContainerBroker(path)
            try:
                report = await asyncio.to_thread(broker.report)
                if report == await asyncio.to_thread(broker.reported):
                    continue
                info = await asyncio.to_thread(broker.info)
            except sqlite3.Error as exc:
                # Damaged (then quarantined, db.py) or locked: the others are reported still.
                stats.report_failures += 1
                LOG.warning("container updater: %s: %s", path, exc)
                continue
            partition, nodes = account_ring.get_nodes(info.account)
            targets = [UpdateTarget(f"{n.ip}:{n.port}", n.device, str(partition)) for n in nodes]
            headers = {**report, "X-Timestamp": Timestamp.now().internal}
            if info.delete_timestamp > info.put_timestamp:
                # A deleted container (the account reaper's, say) is recorded as deleted in a
                # deleted account too, or its report would be refused there at every pass.
                headers["X-Account-Override-Deleted"] = "yes"
            results = await asyncio.gather(*(
                backend.send_update(t, "PUT", f"/{info.account}/{info.container}", headers, timeout)
                for t in targets))
            if all(results):
                await asyncio.to_thread(broker.set_reported, report)
                stats.reported += 1
            else:
                stats.report_failures += 1          # tried again next pass


async def update_once(conf: Any, state_dir: Path) -> UpdateStats:
    """One pass: every async pending file on this node's devices, then the container reports."""
    stats = UpdateStats()
    for device in device_dirs(conf, state_dir):
        for path in await asyncio.to_thread(_pending_files, device):
            await update_pending(path, conf.node_timeout, stats)
    if conf.container_port:
        ring = load_ring(conf, state_dir, "container")
        local = local_devices(ring, conf, state_dir, int(conf.container_port))
        if local:
            await update_containers(load_ring(conf, state_dir, "account"),
                                    conf.devices_root(state_dir), local, conf.node_timeout, stats)
    log_pass("object and container updater", stats)
    return stats


async def run_updater(rt: Any) -> None:
    """The agent: the object and container updaters every ``updater_interval``."""
    conf, state_dir = rt.service_conf, Path(rt.conf.core.state_dir)
    await repeat(conf.updater_interval, lambda: update_once(conf, state_dir),
                 "object and container updater")
