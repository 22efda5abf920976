"""The conductor: serves ``compute.conductor`` beside the compute API (see ``nubes.compute.rpc``).

It is the one place besides the API that reads and writes compute's database: agents report
through it. Its handler table is composed from one module per concern (``hosts``: heartbeats
and hypervisor reports; ``build``: scheduling and builds, moves and deletes); ``watch`` hands
back the builds of hosts that went down; ``recovery`` re-drives, from the database, the work
that was accepted and that nobody finishes (a restart, a lost message).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Any

from nubes.compute import rpc
from nubes.compute.conductor import build, hosts, moves
from nubes.compute.conductor.recovery import TRACKED, ConductorRecovery, track
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
        self.busy: Counter[str] = Counter()          # instance ids its handlers are working on
        self._table: dict[str, Any] | None = None
        self.recovery = ConductorRecovery(self)

    def handlers(self) -> dict[str, Any]:
        """The one handler table of this conductor (its topics and its recovery share it: one
        scheduler's group locks, one record of the instances being worked on)."""
        if self._table is None:
            table = moves.extend(self, {**hosts.handlers(self), **build.handlers(self)})
            from nubes.compute.conductor import evacuate, live_control

            table.update(evacuate.handlers(self))
            table.update(live_control.handlers(self))
            self._table = {name: track(self.busy, name, fn) if name in TRACKED else fn
                           for name, fn in table.items()}
        return self._table

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
        # Unfinished work nobody does: at once, then every recovery_interval.
        self.tasks.append(asyncio.create_task(self.recovery.run(), name="conductor-recovery"))
        # Soft-deleted servers past reclaim_instance_interval are deleted (when it is above 0).
        from nubes.compute.conductor import reclaim

        self.tasks.append(asyncio.create_task(reclaim.run(self), name="conductor-reclaim"))
        LOG.info("compute conductor serving %s", rpc.CONDUCTOR_TOPIC)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
