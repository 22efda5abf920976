"""The conductor's watch over builds on hosts that went down.

A compute agent that dies mid-build (killed, its machine lost) never reports back. The build
timeout (``instances.watch_builds``) would catch it after ``build_timeout``; this acts sooner:
every few seconds it looks for instances still building on a host whose compute service is
down (no heartbeat for ``service_down_time``, or forced down) and treats each as a failed build
there: its ports bound to that host are removed (the user's own only unbound) and
``build_failed`` (retryable) is cast to the conductor, which releases the claim and reschedules
to an alternate host, or sets ERROR with a fault when none is left. A build that was still
waiting in the dead host's queue is handed over the same way; if that host comes back, its
agent finds the instance is no longer its to build (``instance_update`` with ``expected_host``).

A conductor that just started gives the hosts ``service_down_time`` to report first: while no
conductor ran, their heartbeats could not arrive, so every host looks down at that moment.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.exceptions import CloudError
from nubes.compute import rpc
from nubes.compute.db.queries import builds as qb
from nubes.compute.db.queries import host_states as qh
from nubes.compute.service import server_ports, server_records
from nubes.compute.service.hosts import is_up

LOG = logging.getLogger(__name__)
# A build handed back is not handed back again for this long (its build_failed is on its way).
RECAST_AFTER = 60.0


class DeadHostWatch:
    def __init__(self, conductor: Any) -> None:
        self.c = conductor
        self.conf = conductor.conf
        self.started = time.monotonic()
        self.handed: dict[str, float] = {}          # instance id -> when its build_failed was cast

    @property
    def interval(self) -> float:
        return max(0.5, min(float(self.conf.report_interval), float(self.conf.service_down_time) / 4))

    async def check(self) -> int:
        """Hand back the builds of hosts that are down now; how many."""
        if time.monotonic() - self.started < float(self.conf.service_down_time):
            return 0
        async with self.c.db.reader() as s:
            rows = await qb.building_on_hosts(s)
            services = await qh.services(s, sorted({r.host for r in rows})) if rows else {}
            now = utcnow()
            down = {h for h, svc in services.items() if not is_up(svc, self.conf.service_down_time, now)}
            records = [server_records.record(r) for r in rows if r.host in down]
        cutoff = time.monotonic() - RECAST_AFTER
        self.handed = {iid: t for iid, t in self.handed.items() if t > cutoff}
        done = 0
        for rec in records:
            if rec["id"] in self.handed:
                continue
            await self._hand_back(rec, services[rec["host"]])
            done += 1
        return done

    async def _hand_back(self, rec: dict[str, Any], svc: Any) -> None:
        iid, host = rec["id"], rec["host"]
        why = "is forced down" if svc.forced_down else (
            f"has not reported for more than {int(self.conf.service_down_time)} seconds")
        reason = (f"The compute service of host {host} {why} while instance {iid} was being built there "
                  f"(task {rec.get('task_state') or 'waiting for the host'}).")
        LOG.warning("%s Rescheduling it.", reason)
        try:
            await server_ports.unplug_from_host(self.c.clients, rec, host)
        except CloudError as e:       # the new host makes ports of its own; these are only left over
            LOG.warning("could not remove the ports of %s on the dead host %s: %s", iid, host, e.message)
        await self.c.bus.cast(rpc.CONDUCTOR_AGENTS_TOPIC, "build_failed", {
            "instance_id": iid, "host": host, "reason": reason, "retryable": True})
        self.handed[iid] = time.monotonic()

    async def run(self) -> None:
        failing = False
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.check()
                failing = False
            except asyncio.CancelledError:
                raise
            except Exception:       # a periodic reconcile: log once per failure streak, go on
                if not failing:
                    LOG.exception("checking for builds on dead hosts failed; retrying every %.1fs",
                                  self.interval)
                failing = True
