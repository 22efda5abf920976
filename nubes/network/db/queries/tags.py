"""Tags of any resource, read in bulk for a page and replaced per resource."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Tag


async def of(s: AsyncSession, resource_type: str, ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = await s.execute(select(Tag.resource_id, Tag.tag).where(
            Tag.resource_type == resource_type, Tag.resource_id.in_(ids[start:start + 500]))
            .order_by(Tag.tag))
        for rid, tag in rows.all():
            out[rid].append(tag)
    return out


async def replace(s: AsyncSession, resource_type: str, resource_id: str, tags: Iterable[str]) -> None:
    await delete_all(s, resource_type, resource_id)
    for tag in dict.fromkeys(tags):
        s.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))


async def add(s: AsyncSession, resource_type: str, resource_id: str, tag: str) -> None:
    if await s.get(Tag, (resource_type, resource_id, tag)) is None:
        s.add(Tag(resource_type=resource_type, resource_id=resource_id, tag=tag))


async def remove(s: AsyncSession, resource_type: str, resource_id: str, tag: str) -> bool:
    res = await s.execute(delete(Tag).where(Tag.resource_type == resource_type,
                                            Tag.resource_id == resource_id, Tag.tag == tag))
    return bool(res.rowcount)


async def delete_all(s: AsyncSession, resource_type: str, resource_id: str) -> None:
    await s.execute(delete(Tag).where(Tag.resource_type == resource_type, Tag.resource_id == resource_id))
