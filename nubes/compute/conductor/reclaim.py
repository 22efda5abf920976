"""The reclaim of soft-deleted servers (Nova's ``_reclaim_queued_deletes``): every
``reclaim_instance_interval`` seconds the servers soft-deleted longer ago than that are deleted,
by their host's agent (``terminate_instance``), or here when their host is down. The state is in
the database (``deleted_at``, the ``deleting`` task), so a reclaim a crash cut off is finished by
the usual delete recovery."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from nubes.core.db.base import utcnow
from nubes.compute import rpc
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)


async def reclaim_once(c: Any) -> int:
    interval = float(c.conf.reclaim_instance_interval)
    now = utcnow()
    todo: list[tuple[str, str | None, dict[str, Any]]] = []
    async with c.db.session() as s:
        rows = await qi.soft_deleted_before(s, now - timedelta(seconds=interval))
        services = await qh.services(s, sorted({r.host for r in rows if r.host}))
        for row in rows:
            svc = services.get(row.host or "")
            seen = (svc.last_seen_up or svc.updated_at) if svc is not None else None
            up = (svc is not None and not svc.forced_down and seen is not None
                  and (now - seen).total_seconds() <= float(c.conf.service_down_time))
            row.task_state, row.updated_at = "deleting", now
            todo.append((row.id, row.host if up else None, server_records.record(row)))
    for iid, host, rec in todo:
        LOG.info("reclaiming soft-deleted instance %s", iid)
        if host:
            await c.bus.cast(rpc.agent_topic(host), "terminate_instance", {"instance_id": iid, "instance": rec})
        else:
            await c.bus.cast(rpc.CONDUCTOR_TOPIC, "delete_instance", {"instance_id": iid})
    return len(todo)


async def run(c: Any) -> None:
    interval = float(c.conf.reclaim_instance_interval)
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval)
        try:
            await reclaim_once(c)
        except asyncio.CancelledError:
            raise
        except Exception:          # the next pass tries again
            LOG.exception("reclaiming soft-deleted instances failed")
