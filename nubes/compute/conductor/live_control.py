"""``abort_live_migration`` (API, the migration already ``cancelled``; see
``service.live_migration_control``): the destination removes any copy it made (``move_abort``,
after a step still running there), the source takes the guest back (``move_back``); its report
(``moves_steps``: ``reverted`` of a cancelled migration) returns the allocation and ends the task."""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute import rpc
from nubes.compute.conductor.moves import migration_dict, record
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import migrations as qm

LOG = logging.getLogger(__name__)


def handlers(conductor: Any) -> dict[str, Any]:
    async def abort_live_migration(p: dict) -> None:
        iid, mid = p["instance_id"], p["migration_id"]
        async with conductor.db.reader() as s:
            row, m = await qi.get(s, iid), await qm.get(s, mid)
            if row is None or m is None or m.status != "cancelled" or row.task_state != "migrating":
                return
            msg = {"instance_id": iid, "migration": migration_dict(m), "instance": record(row),
                   "request_id": p.get("request_id"), "action": "live_migration_cancel"}
        LOG.info("aborting live migration %s of %s (%s -> %s)", mid, iid, m.source_compute, m.dest_compute)
        if m.dest_compute and m.dest_compute != m.source_compute:
            await conductor.bus.cast(rpc.agent_topic(m.dest_compute), "move_abort", {**msg, "report": False})
        await conductor.bus.cast(rpc.agent_topic(m.source_compute), "move_back", {
            **msg, "event": "compute_live_migration_abort", "power_on": row.vm_state == "active", "report": True})

    return {"abort_live_migration": abort_live_migration}
