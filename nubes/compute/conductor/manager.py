"""The conductor: serves ``compute.conductor`` beside the compute API (see ``nubes.compute.rpc``).

It is the one place besides the API that reads and writes compute's database: agents report
through it. Its handler table is composed from one module per concern (``hosts``: heartbeats
and hypervisor reports; ``build``: scheduling and builds, moves and deletes); ``watch`` hands
back the builds of hosts that went down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from nubes.compute import rpc
from nubes.compute.conductor import build, hosts, moves
from nubes.compute.conductor.watch import DeadHostWatch

LOG = logging.getLogger(__name__)


class Conductor:
    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.db = rt.db
        self.conf = rt.service_conf
        self.bus = rt.bus
        self.clients = rt.clients
        self.tasks: list[asyncio.Task] = []

    def handlers(self) -> dict[str, Any]:
        return moves.extend(self, {**hosts.handlers(self), **build.handlers(self)})

    async def start(self) -> None:
        await self.bus.serve(rpc.CONDUCTOR_TOPIC, self.handlers())
        await self.bus.serve(rpc.CONDUCTOR_AGENTS_TOPIC, self.handlers())
        await self.bus.serve(rpc.CONDUCTOR_REPORT_TOPIC, hosts.handlers(self))
        # Its own service rows (nova-conductor, nova-scheduler), kept up like an agent's.
        self.tasks.append(asyncio.create_task(hosts.report_controller_services(self),
                                              name="conductor-heartbeat"))
        # Builds stuck past build_timeout go to ERROR (build.periodic); builds on hosts that went
        # down are rescheduled sooner (watch).
        self.tasks += [asyncio.create_task(coro, name=name) for name, coro in build.periodic(self)]
        self.tasks.append(asyncio.create_task(DeadHostWatch(self).run(), name="conductor-dead-hosts"))
        LOG.info("compute conductor serving %s", rpc.CONDUCTOR_TOPIC)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
