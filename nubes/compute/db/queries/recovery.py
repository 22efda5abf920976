"""What the conductor's recovery reads: instances with work accepted and not finished."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.compute.db.models import Instance, Migration
from nubes.compute.db.queries.migrations import FINAL

# Migration statuses the conductor acts on next (the hosts' steps are theirs).
CONDUCTOR_MOVE_STATUSES = ("pre-migrating", "accepted", "confirming", "reverting")


async def unfinished(s: AsyncSession, unchanged_since: datetime, limit: int = 10000) -> list[str]:
    """Ids of the instances with unfinished work that nothing changed since ``unchanged_since``:
    live ones with a task state or still building, ones whose move waits for the conductor (a
    confirm has no task state), and deleted ones whose moves are not over (their other copy and
    allocation)."""
    live = select(Instance.id).where(
        Instance.deleted.is_(False), Instance.updated_at < unchanged_since,
        or_(Instance.task_state.is_not(None), Instance.vm_state == "building")).limit(limit)
    moving = (select(Migration.instance_id).join(Instance, Instance.id == Migration.instance_id)
              .where(Migration.status.in_(CONDUCTOR_MOVE_STATUSES), Instance.updated_at < unchanged_since)
              .limit(limit))
    orphaned = (select(Migration.instance_id).join(Instance, Instance.id == Migration.instance_id)
                .where(Instance.deleted.is_(True), Migration.status.not_in(FINAL)).limit(limit))
    ids: dict[str, None] = {}
    for stmt in (live, moving, orphaned):
        for iid in (await s.execute(stmt)).scalars():
            ids[iid] = None
    return list(ids)
