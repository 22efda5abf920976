"""The hosts' reports of a move's steps (``move_report``) and what the conductor does next.

steps: ``migrated`` (source: the guest is ready to leave) → ``finished`` (destination: it runs
there) → for a cold move VERIFY_RESIZE, then ``confirmed`` (source: its copy is gone) or
``aborted`` (destination: its copy is gone, on revert) → ``reverted`` (source: the guest is back).
Every handler checks the migration's status first: a report that comes twice, or late, changes
nothing. A failed step ends the move (``MoveConductor.fail``) where the guest still is.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute.conductor import instances
from nubes.compute.conductor.moves import MoveConductor, migration_dict, record
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import migrations as qm
from nubes.compute.service import moves_allocations as allocs
from nubes.compute.service import pending
from nubes.compute.service.servers_notify import Notifier

LOG = logging.getLogger(__name__)
# step -> the migration statuses it may follow
AFTER = {"migrated": ("migrating", "preparing"), "finished": ("post-migrating", "running"),
         "confirmed": ("confirming",), "aborted": ("reverting",), "reverted": ("reverting", "error", "cancelled")}


def _set_flavor(row: Any, flavor: dict[str, Any]) -> None:
    row.flavor, row.flavorid = flavor, flavor["flavorid"]
    row.vcpus, row.memory_mb = flavor["vcpus"], flavor["memory_mb"]
    row.root_gb, row.ephemeral_gb = flavor["root_gb"], flavor["ephemeral_gb"]


def _old_vm_state(row: Any) -> str:
    sm = dict(row.system_metadata or {})
    old = sm.pop("old_vm_state", "active")
    row.system_metadata = sm
    return "stopped" if old == "stopped" else "active"


class Steps:
    def __init__(self, mc: MoveConductor) -> None:
        self.mc = mc
        self.c = mc.c

    async def move_report(self, payload: dict) -> None:
        step, mid, iid = payload.get("step"), payload.get("migration_id"), payload.get("instance_id")
        async with self.c.db.reader() as s:
            m = await qm.get(s, mid)
        if m is None or step not in AFTER or m.status not in AFTER[step]:
            LOG.info("move %s of %s: report %s ignored (the migration is %s)", mid, iid, step,
                     m.status if m else "gone")
            return
        await getattr(self, f"_{step}")(payload, m.migration_type)

    async def _migrated(self, p: dict, kind: str) -> None:
        iid, mid = p["instance_id"], p["migration_id"]
        action = p.get("action") or ""
        if not p.get("ok"):
            await self.mc.fail(iid, mid, action, f"The move could not start: {p.get('reason')}")
            return
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid), await qm.get(s, mid, for_update=True)
            if row is None or row.task_state in (None, "deleting") or m.status not in AFTER["migrated"]:
                return                  # (an abort cancelled it meanwhile)
            m.status, m.updated_at = ("running" if kind == "live-migration" else "post-migrating"), instances.now()
            # What the destination builds the guest from, kept so that a move_in lost with a restart
            # can be sent again (agent.resume).
            pending.remember_data(row, "move_data", p.get("data") or {})
            row.updated_at = instances.now()
            flavor = row.new_flavor if kind == "resize" else None
            msg = {"instance_id": iid, "migration": migration_dict(m), "instance": record(row, flavor),
                   "request_id": p.get("request_id"), "action": action, "data": p.get("data") or {},
                   "power_on": (row.system_metadata or {}).get("old_vm_state", row.vm_state) != "stopped"}
        await self.mc.cast(m.dest_compute, "move_in", msg)

    async def _finished(self, p: dict, kind: str) -> None:
        iid, mid, action = p["instance_id"], p["migration_id"], p.get("action") or ""
        live = kind == "live-migration"
        event = "compute_post_live_migration_at_destination" if live else "compute_finish_resize"
        if not p.get("ok"):
            await self.mc.fail(iid, mid, action, f"The move failed on {p.get('host')}: {p.get('reason')}",
                               event=event, host=p.get("host"))
            async with self.c.db.reader() as s:
                row, m = await qi.get(s, iid), await qm.get(s, mid)
            if row is not None and m is not None:
                await self.mc.cast(m.source_compute, "move_back", {
                    "instance_id": iid, "migration": migration_dict(m), "instance": record(row),
                    "power_on": not live and row.vm_state != "stopped", "report": True})
            return
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid, for_update=True), await qm.get(s, mid, for_update=True)
            if row is None or row.task_state in (None, "deleting") or m.status not in AFTER["finished"]:
                return                  # (an abort cancelled it meanwhile)
            row.host, row.node = m.dest_compute, m.dest_node
            row.power_state = int(p.get("power_state") or 0)
            row.network_info = p.get("network_info") or row.network_info
            row.task_state, row.updated_at = None, instances.now()
            if live:
                m.status = "completed"
            else:
                _set_flavor(row, row.new_flavor or row.flavor)
                row.vm_state, m.status = "resized", "finished"
            m.updated_at = instances.now()
            await self.mc.event(s, iid, action, p.get("request_id"), event, "Success", host=p.get("host"))
            done = migration_dict(m)
        LOG.info("move %s of %s to %s finished", mid, iid, row.host)
        await Notifier(self.c.bus).publish("live_migration" if live else "finish_resize", "end", row)
        if live:
            await allocs.release(self.c.clients, mid)
            await self.mc.cast(done["source_compute"], "move_cleanup", {
                "instance_id": iid, "migration": done, "instance": {"id": iid}, "report": False})

    async def _confirmed(self, p: dict, kind: str) -> None:
        iid, mid = p["instance_id"], p["migration_id"]
        await allocs.release(self.c.clients, mid)
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid, for_update=True), await qm.get(s, mid, for_update=True)
            m.status, m.updated_at = ("confirmed" if p.get("ok") else "error"), instances.now()
            if row is None or row.task_state == "deleting":
                return
            row.vm_state = _old_vm_state(row) if p.get("ok") else "error"
            row.old_flavor = row.new_flavor = None
            row.task_state, row.updated_at = None, instances.now()
            await self.mc.event(s, iid, "confirmResize", p.get("request_id"), "compute_confirm_resize",
                                "Success" if p.get("ok") else "Error", traceback=p.get("reason"), host=p.get("host"))
        await Notifier(self.c.bus).publish("resize.confirm", "end", row)

    async def _aborted(self, p: dict, kind: str) -> None:
        """The destination removed its copy (revert): the allocation goes back, the source takes over."""
        iid, mid = p["instance_id"], p["migration_id"]
        async with self.c.db.reader() as s:
            row, m = await qi.get(s, iid), await qm.get(s, mid)
        if row is None or row.task_state != "resize_reverting":
            return
        if not p.get("ok"):
            LOG.warning("revert of %s: %s kept its copy (%s); it is removed as an orphan later", iid,
                        p.get("host"), p.get("reason"))
        await allocs.hand_over(self.c.clients, mid, iid, row.project_id, row.user_id)
        await self.mc.cast(m.source_compute, "move_back", {
            "instance_id": iid, "migration": migration_dict(m), "instance": record(row, row.old_flavor),
            "request_id": p.get("request_id"), "action": "revertResize", "event": "compute_finish_revert_resize",
            "power_on": (row.system_metadata or {}).get("old_vm_state", "active") != "stopped", "report": True})

    async def _reverted(self, p: dict, kind: str) -> None:
        iid, mid = p["instance_id"], p["migration_id"]
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid, for_update=True), await qm.get(s, mid, for_update=True)
            if row is None or row.task_state == "deleting":
                return
            row.power_state = int(p.get("power_state") or row.power_state or 0)
            row.network_info = p.get("network_info") or row.network_info
            row.updated_at = instances.now()
            if m.status == "error":             # the source took the guest back after a failed move
                return
            cancelled = m.status == "cancelled"
            if cancelled:                       # an aborted live migration: the server stays here
                row.task_state = None
                await self.mc.event(s, iid, "live_migration_cancel", p.get("request_id"),
                                    "compute_live_migration_abort", "Success" if p.get("ok") else "Error",
                                    traceback=p.get("reason"), host=p.get("host"))
            else:
                row.host, row.node = m.source_compute, m.source_node
                if row.old_flavor:
                    _set_flavor(row, row.old_flavor)
                row.old_flavor = row.new_flavor = None
                row.vm_state = _old_vm_state(row) if p.get("ok") else "error"
                row.task_state = None
                m.status, m.updated_at = ("reverted" if p.get("ok") else "error"), instances.now()
                await self.mc.event(s, iid, "revertResize", p.get("request_id"), "compute_finish_revert_resize",
                                    "Success" if p.get("ok") else "Error", traceback=p.get("reason"),
                                    host=p.get("host"))
        if cancelled:
            await allocs.hand_over(self.c.clients, mid, iid, row.project_id, row.user_id)
            return
        await Notifier(self.c.bus).publish("resize.revert", "end", row)
