"""Queries of tasks: the import jobs the tasks API and image import run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.image.db.models import Task


async def get(s: AsyncSession, task_id: str) -> Task | None:
    return await s.get(Task, task_id)


async def for_image(s: AsyncSession, image_id: str) -> list[Task]:
    rows = await s.execute(select(Task).where(Task.image_id == image_id)
                           .order_by(Task.created_at.desc(), Task.id.desc()))
    return list(rows.scalars())


async def listing(s: AsyncSession, *, owner: str | None, see_all: bool, filters: dict[str, Any],
                  sort_key: str, sort_dir: str, marker: Task | None, limit: int) -> list[Task]:
    q = select(Task)
    if not see_all:
        q = q.where(Task.owner == owner)
    for key, value in filters.items():
        q = q.where(getattr(Task, key) == value)
    col = getattr(Task, sort_key)
    if marker is not None:
        mval = getattr(marker, sort_key)
        after = col > mval if sort_dir == "asc" else col < mval
        tie = Task.id > marker.id if sort_dir == "asc" else Task.id < marker.id
        q = q.where(or_(after, (col == mval) & tie))
    order = (col.asc(), Task.id.asc()) if sort_dir == "asc" else (col.desc(), Task.id.desc())
    return list((await s.execute(q.order_by(*order).limit(limit))).scalars())
