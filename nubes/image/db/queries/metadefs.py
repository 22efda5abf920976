"""Queries of metadata definitions: namespaces and the objects, properties, tags and resource-type
associations they hold (by namespace id)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.image.db.models import (
    MetadefAssociation,
    MetadefNamespace,
    MetadefObject,
    MetadefProperty,
    MetadefResourceType,
    MetadefTag,
)

PARTS: dict[str, Any] = {"objects": MetadefObject, "properties": MetadefProperty, "tags": MetadefTag}


async def namespace(s: AsyncSession, name: str, *, for_update: bool = False) -> MetadefNamespace | None:
    q = select(MetadefNamespace).where(MetadefNamespace.namespace == name)
    if for_update:
        q = q.with_for_update()
    return (await s.execute(q)).scalar_one_or_none()


async def namespaces(s: AsyncSession, *, project_id: str | None, see_all: bool, visibility: str | None,
                     resource_types: list[str], sort_key: str, sort_dir: str,
                     marker: MetadefNamespace | None, limit: int) -> list[MetadefNamespace]:
    q = select(MetadefNamespace)
    if not see_all:
        q = q.where(or_(MetadefNamespace.visibility == "public", MetadefNamespace.owner == project_id)
                    if project_id else MetadefNamespace.visibility == "public")
    if visibility:
        q = q.where(MetadefNamespace.visibility == visibility)
    if resource_types:
        ids = (select(MetadefAssociation.namespace_id)
               .join(MetadefResourceType, MetadefResourceType.id == MetadefAssociation.resource_type_id)
               .where(MetadefResourceType.name.in_(resource_types)))
        q = q.where(MetadefNamespace.id.in_(ids))
    col = getattr(MetadefNamespace, sort_key)
    if marker is not None:
        mval = getattr(marker, sort_key)
        after = col > mval if sort_dir == "asc" else col < mval
        tie = MetadefNamespace.id > marker.id if sort_dir == "asc" else MetadefNamespace.id < marker.id
        q = q.where(or_(after, (col == mval) & tie))
    ns_id = MetadefNamespace.id
    order = (col.asc(), ns_id.asc()) if sort_dir == "asc" else (col.desc(), ns_id.desc())
    return list((await s.execute(q.order_by(*order).limit(limit))).scalars())


async def associations(s: AsyncSession,
                       ns_ids: Iterable[int]) -> dict[int, list[tuple[MetadefAssociation, str]]]:
    ids = list(ns_ids)
    out: dict[int, list[tuple[MetadefAssociation, str]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = await s.execute(select(MetadefAssociation, MetadefResourceType.name)
                           .join(MetadefResourceType,
                                 MetadefResourceType.id == MetadefAssociation.resource_type_id)
                           .where(MetadefAssociation.namespace_id.in_(ids))
                           .order_by(MetadefResourceType.name))
    for assoc, name in rows.all():
        out[assoc.namespace_id].append((assoc, name))
    return out


async def parts(s: AsyncSession, kind: str, ns_id: int) -> list[Any]:
    model = PARTS[kind]
    rows = await s.execute(select(model).where(model.namespace_id == ns_id).order_by(model.name))
    return list(rows.scalars())


async def part(s: AsyncSession, kind: str, ns_id: int, name: str) -> Any:
    model = PARTS[kind]
    rows = await s.execute(select(model).where(model.namespace_id == ns_id, model.name == name))
    return rows.scalar_one_or_none()


async def tag_named(s: AsyncSession, ns_id: int, name: str) -> MetadefTag | None:
    """Tag names are case-insensitive within a namespace, as Glance's."""
    rows = await s.execute(select(MetadefTag).where(MetadefTag.namespace_id == ns_id,
                                                    func.lower(MetadefTag.name) == name.lower()))
    return rows.scalars().first()


async def delete_parts(s: AsyncSession, kind: str, ns_id: int) -> None:
    model = PARTS[kind]
    await s.execute(delete(model).where(model.namespace_id == ns_id))


async def resource_type(s: AsyncSession, name: str) -> MetadefResourceType | None:
    rows = await s.execute(select(MetadefResourceType).where(MetadefResourceType.name == name))
    return rows.scalar_one_or_none()


async def resource_types(s: AsyncSession) -> list[MetadefResourceType]:
    return list((await s.execute(select(MetadefResourceType).order_by(MetadefResourceType.name))).scalars())


async def association(s: AsyncSession, ns_id: int, rt_id: int) -> MetadefAssociation | None:
    return await s.get(MetadefAssociation, (rt_id, ns_id))
