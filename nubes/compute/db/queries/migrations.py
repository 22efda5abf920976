"""Migration rows (resizes, cold and live migrations): lookups for the moves and Nova's list filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.compute.db.models import Migration

# A move in one of these states is over (the same list the hosts' queries use).
FINAL = ("confirmed", "reverted", "error", "failed", "completed", "cancelled", "done")
# Live migrations /servers/{id}/migrations shows (Nova's in-progress states).
LIVE_IN_PROGRESS = ("queued", "preparing", "running", "post-migrating")


async def get(s: AsyncSession, migration_uuid: str, *, for_update: bool = False) -> Migration | None:
    stmt = select(Migration).where(Migration.uuid == migration_uuid)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def by_id(s: AsyncSession, instance_id: str, migration_id: int) -> Migration | None:
    stmt = select(Migration).where(Migration.id == migration_id, Migration.instance_id == instance_id)
    return (await s.execute(stmt)).scalars().first()


async def of_instance(s: AsyncSession, instance_id: str, statuses: Sequence[str] | None = None,
                      *, for_update: bool = False) -> list[Migration]:
    stmt = select(Migration).where(Migration.instance_id == instance_id)
    if statuses is not None:
        stmt = stmt.where(Migration.status.in_(list(statuses)))
    if for_update:
        stmt = stmt.with_for_update()
    return list((await s.execute(stmt.order_by(Migration.id.desc()))).scalars().all())


async def unfinished(s: AsyncSession, instance_id: str) -> list[Migration]:
    stmt = select(Migration).where(Migration.instance_id == instance_id, Migration.status.not_in(FINAL))
    return list((await s.execute(stmt.order_by(Migration.id))).scalars().all())


@dataclass
class MigrationFilters:
    host: str | None = None                  # source or destination
    status: str | None = None
    instance_id: str | None = None
    migration_type: str | None = None
    source_compute: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    project_id: str | None = None
    user_id: str | None = None
    live_in_progress: bool = False
    extra: list[ColumnElement] = field(default_factory=list)


def _where(f: MigrationFilters) -> list[ColumnElement]:
    out: list[ColumnElement] = list(f.extra)
    if f.host:
        out.append(or_(Migration.source_compute == f.host, Migration.dest_compute == f.host))
    for value, col in ((f.status, Migration.status), (f.instance_id, Migration.instance_id),
                       (f.migration_type, Migration.migration_type), (f.source_compute, Migration.source_compute),
                       (f.project_id, Migration.project_id), (f.user_id, Migration.user_id)):
        if value is not None:
            out.append(col == value)
    if f.changes_since is not None:
        out.append(Migration.updated_at >= f.changes_since)
    if f.changes_before is not None:
        out.append(Migration.updated_at <= f.changes_before)
    if f.live_in_progress:
        out.append(and_(Migration.migration_type == "live-migration", Migration.status.in_(LIVE_IN_PROGRESS)))
    return out


async def page(s: AsyncSession, f: MigrationFilters, *, limit: int | None, marker: str | None) -> list[Migration]:
    """Newest first (created_at, then id); after the migration of uuid ``marker`` when given."""
    stmt = select(Migration).where(*_where(f))
    if marker is not None:
        row = await get(s, marker)
        if row is None:
            raise LookupError(marker)
        stmt = stmt.where(or_(Migration.created_at < row.created_at,
                              and_(Migration.created_at == row.created_at, Migration.id < row.id)))
    stmt = stmt.order_by(Migration.created_at.desc(), Migration.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return list((await s.execute(stmt)).scalars().all())
