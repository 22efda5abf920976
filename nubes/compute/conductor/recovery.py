"""The conductor's recovery: a level-triggered loop over the work the database says was accepted and
is not finished, which re-drives what is the conductor's to drive (docs/architecture.md, "What
survives a crash").

A bus message can be lost (the all-in-one's in-process queues die with its process; in many
nodes a process can die between its commit and its cast) and a handler can be cut off half-way.
Every ``recovery_interval`` seconds, and at once when the conductor starts, each instance with
unfinished work is looked at, and the next step that is the conductor's is taken again, through
the same handlers the bus messages run (each idempotent):

| the instance                                        | re-driven as                          |
|-----------------------------------------------------|---------------------------------------|
| BUILD, ``scheduling``                               | scheduled (``build_instances``)       |
| BUILD, no task, a host (placed, not taken up)       | sent to its host again                |
| ``deleting`` with no host, or its host down         | deleted here (``delete_instance``)    |
| a move not yet scheduled (``pre-migrating``/``accepted``) | scheduled (``move_instance``)   |
| a resize being confirmed or reverted                | ``confirm_move`` / ``revert_move``    |
| ``unshelving``                                      | ``unshelve_instance``                 |
| deleted, with a move not over                       | the move's copies and allocation go   |

What a host does (a build under way, an action, a delete on a live host, a move's steps) is its
agent's: it resumes its own work when it starts and when that work is left alone too long
(``agent.resume``); builds on a host that went down are handed back by ``conductor.watch``.

**Ownership.** Work is someone's while it changes: every step writes the instance's
``updated_at``. The loop takes up only work unchanged for ``recovery_lease`` seconds (it is
then nobody's: its worker died, or its message was lost), and a conductor on the in-process
bus also everything that predates its own start (``memory://`` connects one process: whatever
worked on it before died with the previous process). Work this conductor's handlers are running
is skipped, and what it re-drove is not re-driven again within a lease. Several conductors
(RabbitMQ) thus never take over each other's live work; a duplicate they may still send while
a message waits in a queue longer than the lease is dropped by the handlers' state checks.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Hashable, Iterable
from datetime import timedelta
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.reconcile import Reconciler
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import migrations as qm
from nubes.compute.db.queries import recovery as qr
from nubes.compute.service import pending
from nubes.compute.service.hosts import is_up

LOG = logging.getLogger(__name__)

# Handlers whose instances are this conductor's while they run (payload key of the ids).
TRACKED = {"build_instances": "instance_ids", "build_failed": "instance_id", "delete_instance": "instance_id",
           "instance_destroyed": "instance_id", "move_instance": "instance_id", "move_report": "instance_id",
           "confirm_move": "instance_id", "revert_move": "instance_id", "unshelve_instance": "instance_id",
           "evacuate_instance": "instance_id"}


def conductor_step(vm_state: str, task_state: str | None, host: str | None, move_status: str | None, *,
                   deleted: bool = False, host_down: bool = False) -> str | None:
    """The conductor's next step for an instance in this state, or None when it is not the
    conductor's (a host's, or nothing left). ``move_status``: its unfinished migration's."""
    if deleted:
        return "delete" if move_status is not None else None
    if task_state == "deleting":
        return "delete" if not host or host_down else None
    if vm_state == "building":
        return "schedule" if task_state == "scheduling" or (task_state is None and host) else None
    if move_status in ("pre-migrating", "accepted") and task_state in ("resize_prep", "migrating"):
        return "move"
    if move_status == "accepted" and task_state == "rebuilding":
        return "evacuate"           # an evacuation not yet placed
    if move_status == "confirming":
        return "confirm"
    if move_status == "reverting" and task_state == "resize_reverting":
        return "revert"
    if task_state == "unshelving":
        return "unshelve"
    return None


def track(busy: Counter, method: str, handler: Any) -> Any:
    """``handler`` counting the instances it works on in ``busy`` while it runs."""
    key = TRACKED[method]

    async def tracked(payload: dict) -> Any:
        ids = payload.get(key) or []
        ids = [ids] if isinstance(ids, str) else [str(i) for i in ids]
        busy.update(ids)
        try:
            return await handler(payload)
        finally:
            busy.subtract(ids)
            for iid in ids:
                if busy[iid] <= 0:
                    del busy[iid]

    return tracked


class ConductorRecovery(Reconciler):
    name = "compute-conductor-recovery"

    def __init__(self, conductor: Any) -> None:
        super().__init__()
        self.c = conductor
        self.conf = conductor.conf
        self.resync = max(0.5, float(self.conf.recovery_interval))
        self.lease = max(0.0, float(self.conf.recovery_lease))
        self.single_process = str(conductor.rt.conf.core.bus_url).startswith("memory:")
        self.started_at = utcnow()
        self.started = time.monotonic()
        self.redriven: dict[str, float] = {}     # instance id -> when this loop last re-drove it

    # -- what is unfinished -------------------------------------------------------------------------
    def unowned_before(self) -> Any:
        """Work unchanged since this time is nobody's (see the module's docstring)."""
        before = utcnow() - timedelta(seconds=self.lease)
        if self.single_process and self.started_at > before:
            before = self.started_at
        return before

    async def keys(self) -> Iterable[Hashable]:
        async with self.c.db.reader() as s:
            ids = await qr.unfinished(s, self.unowned_before())
        cutoff = time.monotonic() - self.lease
        self.redriven = {i: t for i, t in self.redriven.items() if t > cutoff}
        return [i for i in ids if i not in self.redriven and i not in self.c.busy]

    def _hosts_judged(self) -> bool:
        # Right after a start every host looks down (no conductor heard their heartbeats): judge
        # them only once they had service_down_time to report, as conductor.watch does.
        return time.monotonic() - self.started >= float(self.conf.service_down_time)

    # -- re-driving one -----------------------------------------------------------------------------
    async def reconcile(self, key: Hashable) -> None:
        iid = str(key)
        if iid in self.c.busy:
            return
        async with self.c.db.reader() as s:
            row = await qi.get(s, iid, deleted=None)
            if row is None:
                return
            moves = await qm.unfinished(s, iid)
            move = moves[-1] if moves else None
            host_down = False
            if row.host and row.task_state == "deleting" and self._hosts_judged():
                svc = (await qh.services(s, [row.host])).get(row.host)
                host_down = svc is None or not is_up(svc, self.conf.service_down_time, utcnow())
            work = pending.of({"request": row.request})
            step = conductor_step(row.vm_state, row.task_state, row.host, move.status if move else None,
                                  deleted=bool(row.deleted), host_down=host_down)
            if step is None or (not row.deleted and row.updated_at >= self.unowned_before()):
                return
            move_id = move.uuid if move else None
            what = f"vm_state {row.vm_state}, task {row.task_state}, host {row.host}" + (
                f", move {move_id} {move.status}" if move else "")
        LOG.warning("instance %s has unfinished work nobody is doing (%s): re-driving it (%s)", iid, what, step)
        self.redriven[iid] = time.monotonic()
        await self._redrive(step, iid, move_id, work)

    async def _redrive(self, step: str, iid: str, move_id: str | None, work: dict[str, Any]) -> None:
        table = self.c.handlers()
        rid = work.get("request_id")
        args = dict(work.get("args") or {})
        if step == "schedule":
            await table["build_instances"]({"instance_ids": [iid]})
        elif step == "delete":
            await table["delete_instance"]({"instance_id": iid})
        elif step == "move":
            payload = {"instance_id": iid, "migration_id": move_id, "request_id": rid, **args}
            if "kind" not in payload:
                async with self.c.db.reader() as s:
                    m = await qm.get(s, move_id or "")
                payload["kind"] = m.migration_type if m is not None else "migration"
            await table["move_instance"](payload)
        elif step in ("confirm", "revert"):
            await table[f"{step}_move"]({"instance_id": iid, "migration_id": move_id, "request_id": None})
        elif step == "evacuate":
            await table["evacuate_instance"]({"instance_id": iid, "migration_id": move_id, "request_id": rid,
                                              **args})
        elif step == "unshelve":
            await table["unshelve_instance"]({"instance_id": iid, "request_id": rid, "host": args.get("host")})
