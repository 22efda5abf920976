"""Run a volume manager for each backend configured on this node (``[volume] backends``)."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from nubes.volume.agent.manager import VolumeManager
from nubes.volume.conf import backends
from nubes.volume.drivers.registry import make_driver

LOG = logging.getLogger(__name__)


async def run_managers(rt: Any) -> None:
    conf = rt.service_conf
    host = conf.host or socket.gethostname()
    managers = [VolumeManager(rt.bus, host, b, make_driver(b), conf.report_interval)
                for b in backends(conf, rt.conf.core.state_dir)]
    started = []
    try:
        for m in managers:
            await m.start()
            started.append(m)
            LOG.info("volume manager %s serves (driver %s)", m.host, m.backend.driver)
        await asyncio.Event().wait()
    finally:
        for m in started:
            await m.stop()
