"""Run a volume manager for each backend configured on this node (``[volume] backends``).

A backend whose driver cannot be loaded or started (a module not installed, a pool directory
it may not use) is logged and left out; the others still serve. With none left, the agent
fails (``nubes agent volume`` exits 1 with the reason)."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from nubes.core.exceptions import CloudError
from nubes.volume.agent.manager import VolumeManager
from nubes.volume.conf import backends
from nubes.volume.drivers.base import VolumeDriverError
from nubes.volume.drivers.registry import make_driver

LOG = logging.getLogger(__name__)


async def run_managers(rt: Any) -> None:
    conf = rt.service_conf
    host = conf.host or socket.gethostname()
    started: list[Any] = []       # managers and their backup workers
    failures: list[str] = []
    try:
        for backend in backends(conf, rt.conf.core.state_dir):
            try:
                manager = VolumeManager(rt.bus, host, backend, make_driver(backend), conf.report_interval,
                                        clients=getattr(rt, "clients", None))
                await manager.start()
            except (ImportError, ValueError, OSError, VolumeDriverError) as err:
                reason = getattr(err, "message", None) or str(err)
                LOG.error("volume backend %s (driver %s) not served: %s", backend.name, backend.driver, reason)
                failures.append(f"{backend.name}: {reason}")
                continue
            started.append(manager)
            LOG.info("volume manager %s serves (driver %s)", manager.host, backend.driver)
            try:
                started.append(await _start_backup_worker(rt, manager))
            except (OSError, ValueError, CloudError) as err:
                LOG.error("backups of volume backend %s not served: %s", backend.name, err)
        if not started:
            raise RuntimeError("no volume backend could be served: " + "; ".join(failures))
        await asyncio.Event().wait()
    finally:
        for m in reversed(started):
            await m.stop()


async def _start_backup_worker(rt: Any, manager: VolumeManager) -> Any:
    """The backend's backup worker, with the directory store and, when this process can reach the
    other services, the object-storage one (each backup's record says which it lives in)."""
    from pathlib import Path

    from nubes.volume.backup.object_store import LoopAuth, ObjectStore
    from nubes.volume.backup.store import DirectoryStore
    from nubes.volume.backup.worker import BackupManager

    conf = rt.service_conf
    root = Path(conf.backup_path) if conf.backup_path else Path(rt.conf.core.state_dir) / "backups"
    clients = getattr(rt, "clients", None)
    objects = ObjectStore(LoopAuth(clients, asyncio.get_running_loop())) if clients is not None else None
    worker = BackupManager(rt.bus, manager.host, manager.backend.availability_zone, manager.driver,
                           DirectoryStore(root), chunk_size=conf.backup_chunk_size,
                           report_interval=conf.report_interval, objects=objects)
    await worker.start()
    return worker
