"""Run a volume manager for each backend configured on this node (``[volume] backends``).

A backend whose driver cannot be loaded or started (a module not installed, a pool directory
it may not use) is logged and left out; the others still serve. With none left, the agent
fails (``nubes agent volume`` exits 1 with the reason)."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from nubes.volume.agent.manager import VolumeManager
from nubes.volume.conf import backends
from nubes.volume.drivers.base import VolumeDriverError
from nubes.volume.drivers.registry import make_driver

LOG = logging.getLogger(__name__)


async def run_managers(rt: Any) -> None:
    conf = rt.service_conf
    host = conf.host or socket.gethostname()
    started: list[VolumeManager] = []
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
        if not started:
            raise RuntimeError("no volume backend could be served: " + "; ".join(failures))
        await asyncio.Event().wait()
    finally:
        for m in started:
            await m.stop()
