"""Instance actions (one per API request that changes a server) and their events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.core.db.base import utcnow
from nubes.compute.db.models import InstanceAction, InstanceActionEvent


def start(s: AsyncSession, instance_id: str, action: str, request_id: str, user_id: str | None,
          project_id: str | None) -> InstanceAction:
    now = utcnow()
    row = InstanceAction(instance_id=instance_id, action=action, request_id=request_id, user_id=user_id,
                         project_id=project_id, start_time=now, updated_at=now, events=[])
    s.add(row)
    return row


async def latest(s: AsyncSession, instance_id: str, action: str | None = None,
                 request_id: str | None = None) -> InstanceAction | None:
    stmt = select(InstanceAction).options(selectinload(InstanceAction.events)).where(
        InstanceAction.instance_id == instance_id)
    if action is not None:
        stmt = stmt.where(InstanceAction.action == action)
    if request_id is not None:
        stmt = stmt.where(InstanceAction.request_id == request_id)
    stmt = stmt.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc()).limit(1)
    return (await s.execute(stmt)).scalars().first()


async def by_request(s: AsyncSession, instance_id: str, request_id: str) -> InstanceAction | None:
    return await latest(s, instance_id, request_id=request_id)


async def list_for(s: AsyncSession, instance_id: str, *, changes_since: datetime | None = None,
                   changes_before: datetime | None = None) -> list[InstanceAction]:
    stmt = select(InstanceAction).where(InstanceAction.instance_id == instance_id)
    if changes_since is not None:
        stmt = stmt.where(InstanceAction.updated_at >= changes_since)
    if changes_before is not None:
        stmt = stmt.where(InstanceAction.updated_at <= changes_before)
    stmt = stmt.order_by(InstanceAction.start_time.desc(), InstanceAction.id.desc())
    return list((await s.execute(stmt)).scalars().all())


def event_start(action: InstanceAction, event: str, host: str | None) -> InstanceActionEvent:
    now = utcnow()
    row = InstanceActionEvent(event=event, host=host, start_time=now)
    action.events.append(row)
    action.updated_at = now
    return row


def event_finish(action: InstanceAction, event: str, host: str | None, result: str,
                 traceback: str | None = None, details: str | None = None) -> InstanceActionEvent:
    """Finish the open event of that name (or record one that starts and ends now)."""
    now = utcnow()
    row = next((e for e in reversed(action.events) if e.event == event and e.finish_time is None), None)
    if row is None:
        row = InstanceActionEvent(event=event, host=host, start_time=now)
        action.events.append(row)
    row.finish_time, row.result, row.traceback, row.details = now, result, traceback, details
    if host:
        row.host = host
    action.updated_at = now
    if result == "Error":
        action.message = "Error"
    return row
