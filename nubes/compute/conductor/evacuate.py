"""Conductor handlers of ``evacuate`` (see ``service.evacuate``):

- ``evacuate_instance`` (API): the source's allocation goes to the migration, the scheduler picks
  another host (never the source; the named one, whose filters ``force`` skips), it is claimed for
  the server, which moves there (host, node; the migration ``pre-migrating``), and that host's
  agent gets the ``evacuate`` action. No host: the allocation goes back, the task is cleared, the
  migration is ``error``, a fault says why; the server stays on its down host.
- ``evacuate_report`` (agent): the rebuild there is done (the server ACTIVE, or STOPPED as it was
  or from 2.95; the migration ``done``, the source's old allocation released) or failed (ERROR with
  a fault, the migration ``failed``), with the action's event.

The down source host destroys its old copy when it comes back (the agent's reconciler: a guest
the database places on another host is an orphan).
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.conductor import instances
from nubes.compute.conductor.build import request_spec
from nubes.compute.conductor.moves import MoveConductor, migration_dict
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import migrations as qm
from nubes.compute.service import moves_allocations as allocs
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)
ACTION, EVENT = "evacuate", "conductor_rebuild_server"


class EvacuateConductor:
    def __init__(self, conductor: Any) -> None:
        self.c = conductor
        self.mc = MoveConductor(conductor)

    async def evacuate_instance(self, p: dict) -> None:
        iid, mid, rid = p["instance_id"], p["migration_id"], p.get("request_id")
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid), await qm.get(s, mid, for_update=True)
            if row is None or m is None or m.status != "accepted" or row.task_state != "rebuilding":
                return                      # gone, or this message came twice
            await self.mc.event(s, iid, ACTION, rid, EVENT)
            spec = await request_spec(s, row)
        spec.ignore_hosts = [m.source_compute]
        spec.force_host = spec.force_node = spec.requested_node = None
        spec.requested_host = p.get("host")
        if p.get("force") and p.get("host"):
            spec.force_host, spec.requested_host = p["host"], None
        if not await allocs.allocations(self.c.clients, mid):
            await allocs.hand_over(self.c.clients, iid, mid, row.project_id, row.user_id)
        try:
            sel = await self.mc._claim(spec, iid, row)
        except exc.NoValidHost as e:
            LOG.info("no host to evacuate %s to: %s", iid, e.message)
            await self.mc.fail(iid, mid, ACTION, e.message, event=EVENT)
            return
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid, for_update=True), await qm.get(s, mid, for_update=True)
            if row is None or m is None or row.task_state != "rebuilding":
                moved = None
            else:
                m.dest_compute, m.dest_node = sel.host, sel.node
                m.status, m.updated_at = "pre-migrating", instances.now()
                row.host, row.node = sel.host, sel.node
                row.updated_at = instances.now()
                await self.mc.event(s, iid, ACTION, rid, EVENT, "Success")
                moved = server_records.record(row)
        if moved is None:
            await self.mc.fail(iid, mid, ACTION, "The server changed while its evacuation was scheduled.")
            return
        LOG.info("evacuating %s: %s -> %s", iid, m.source_compute, sel.host)
        await self.c.bus.cast(rpc.agent_topic(sel.host), "instance_action", {
            "instance_id": iid, "action": "evacuate", "request_id": rid, "instance": moved,
            "args": {"migration_id": mid, "stopped": bool(p.get("stopped")),
                     "admin_password": p.get("admin_password")}})

    async def evacuate_report(self, p: dict) -> dict[str, Any]:
        iid, mid = p["instance_id"], p["migration_id"]
        ok = bool(p.get("ok"))
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid, for_update=True), await qm.get(s, mid, for_update=True)
            if row is None or m is None or row.task_state not in ("rebuilding", "rebuild_spawning") \
                    or row.host != p.get("host"):
                return {"updated": False}
            now = instances.now()
            row.task_state, row.power_state, row.updated_at = None, int(p.get("power_state") or 0), now
            if p.get("network_info") is not None:
                row.network_info = p["network_info"]
            if ok:
                row.vm_state, row.launched_at = p.get("vm_state") or "active", now
                m.status = "done"
            else:
                row.vm_state, m.status = "error", "failed"
                qi.add_fault(s, iid, 500, f"Evacuation failed: {p.get('reason')}", p.get("reason"), p.get("host"))
            m.updated_at = now
            await self.mc.event(s, iid, ACTION, p.get("request_id"), "compute_rebuild_instance",
                                "Success" if ok else "Error", traceback=p.get("reason"), host=p.get("host"))
            done = migration_dict(m)
        if ok:
            try:
                await allocs.release(self.c.clients, done["id"])
            except Exception:     # the server is rebuilt; a leftover migration allocation is only logged
                LOG.exception("releasing the source allocation of evacuation %s", done["id"])
        return {"updated": True}


def handlers(conductor: Any) -> dict[str, Any]:
    ec = EvacuateConductor(conductor)
    return {"evacuate_instance": ec.evacuate_instance, "evacuate_report": ec.evacuate_report}
