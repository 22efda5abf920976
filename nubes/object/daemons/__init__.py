"""Object storage's daemons: the background passes that keep a cluster's replicas in step.

Each runs on every storage node over that node's devices and needs only the rings and the device
directories (no service database, no bus): the object replicator (``replicator``: pushes the
partitions this node holds to their other replicas and hands a handoff's back), the auditor
(``auditor``: reads every object and quarantines the damaged ones), the container and account
replicators (``db_replicator``), the object and container updaters (``updater``) and the object
expirer (``expirer``). Each module has a one-pass function (``replicate_once``, ``audit_once``,
``update_once``, ``expire_once``) and an agent that repeats it every ``[object] *_interval``
seconds; ``nubes.object.run_storage_daemons`` runs them all (``nubes up``, ``nubes agent
object``). What the database daemons share is here: which of a ring's devices are this node's,
a device's address on a peer, and the loop."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from nubes.object.ring import Ring
from nubes.object.ring.device import Device

LOG = logging.getLogger(__name__)


def load_ring(conf: Any, state_dir: Path, kind: str) -> Ring:
    """The ``kind`` ring as it is on disk now (read at each pass, so a copied-in ring is used
    from the next pass on)."""
    return Ring.load(conf.rings_dir(state_dir) / f"{kind}.ring.gz", conf.hash_secret())


def device_dirs(conf: Any, state_dir: Path) -> Iterator[Path]:
    """This node's device directories (only mount points, with ``mount_check``)."""
    root = conf.devices_root(state_dir)
    if not root.is_dir():
        return
    for entry in sorted(root.iterdir()):
        if entry.is_dir() and (not conf.mount_check or os.path.ismount(entry)):
            yield entry


def local_devices(ring: Ring, conf: Any, state_dir: Path, port: int) -> list[Device]:
    """The ring's devices served here: this node's address (``storage_ip``) and the server's
    port, and a directory under ``devices``."""
    here = {p.name for p in device_dirs(conf, state_dir)}
    ip = getattr(conf, "storage_ip", "127.0.0.1")
    return [d for d in ring.devs if d is not None and d.ip == ip and d.port == port
            and d.device in here]


def device_url(dev: Device, partition: int | str, path: str = "") -> str:
    """A peer's device as the replicators address it (its replication address), ``path``
    unquoted."""
    return (f"http://{dev.replication_ip}:{dev.replication_port}/{quote(dev.device)}/{partition}"
            f"{quote(path)}")


async def delete_on_primaries(client: httpx.AsyncClient, ring: Ring, parent_ring: Ring,
                              names: tuple[str, ...], headers: dict[str, str], parent: str,
                              done: tuple[int, ...], what: str) -> bool:
    """``DELETE /<names>`` on every primary of ``ring``, each told one replica of its parent in
    ``parent_ring`` (``X-<parent>-Host/-Device/-Partition``: ``Container`` for an object,
    ``Account`` for a container) to update, as the proxy's writes are; True when each answered
    2xx or one of ``done`` (nothing left to delete there)."""
    part, nodes = ring.get_nodes(*names)
    ppart, pnodes = parent_ring.get_nodes(*names[:-1])
    path = "/" + "/".join(names)

    async def one(i: int, node: Device) -> bool:
        pnode = pnodes[i % len(pnodes)]
        url = device_url(node, part, path)
        try:
            resp = await client.delete(url, headers={
                **headers, f"X-{parent}-Host": f"{pnode.ip}:{pnode.port}",
                f"X-{parent}-Device": pnode.device, f"X-{parent}-Partition": str(ppart)})
        except (httpx.HTTPError, OSError) as exc:
            LOG.info("object %s: DELETE %s: %s", what, url, exc)
            return False
        if 200 <= resp.status_code < 300 or resp.status_code in done:
            return True
        LOG.info("object %s: DELETE %s: %s", what, url, resp.status_code)
        return False

    return all(await asyncio.gather(*(one(i, node) for i, node in enumerate(nodes))))


def log_pass(what: str, stats: Any) -> None:
    """A pass's figures: at INFO when it did or missed something, else at DEBUG (every 30 s)."""
    busy = any(v for k, v in vars(stats).items() if k not in ("databases", "pending", "due"))
    LOG.log(logging.INFO if busy else logging.DEBUG, "object %s pass: %s", what, stats)


async def repeat(interval: float, one_pass: Callable[[], Awaitable[Any]], what: str) -> None:
    """Run ``one_pass`` every ``interval`` seconds, the first one interval from now (so that a
    starting cloud is not slowed), until cancelled; a failed pass is logged and the next one runs.
    ``interval`` 0 turns it off."""
    if interval <= 0:
        LOG.info("object %s not run ([object] interval 0)", what)
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await one_pass()
        except Exception:
            LOG.exception("object %s pass failed", what)
