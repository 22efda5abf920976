"""The image list query: who sees what (visibility and membership), filters, sorting, keyset paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from nubes.image.db.models import Image, ImageMember, ImageProperty, ImageTag

# Sort keys and the value a NULL sorts as, so every backend orders (and pages) alike.
SORT_COLUMNS: dict[str, tuple[Any, Any]] = {
    "name": (Image.name, ""),
    "status": (Image.status, None),
    "container_format": (Image.container_format, ""),
    "disk_format": (Image.disk_format, ""),
    "size": (Image.size, -1),
    "id": (Image.id, None),
    "created_at": (Image.created_at, None),
    "updated_at": (Image.updated_at, None),
}

# Columns that take "eq" (or "in:a,b") filters.
EQ_FILTERS = {"name": Image.name, "id": Image.id, "status": Image.status, "owner": Image.owner,
              "disk_format": Image.disk_format, "container_format": Image.container_format}
TIME_FILTERS = {"created_at": Image.created_at, "updated_at": Image.updated_at}


@dataclass
class TimeFilter:
    op: str          # gt gte lt lte eq neq
    value: datetime


@dataclass
class ListSpec:
    project_id: str | None
    is_admin: bool
    visibility: str | None = None            # None, "all", "public", "private", "shared", "community"
    member_status: str = "accepted"          # or pending, rejected, all
    equals: dict[str, list[str]] = field(default_factory=dict)
    times: dict[str, list[TimeFilter]] = field(default_factory=dict)
    size_min: int | None = None
    size_max: int | None = None
    os_hidden: bool = False
    protected: bool | None = None
    tags: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)
    sort: list[tuple[str, str]] = field(default_factory=lambda: [("created_at", "desc")])
    limit: int = 25


def _key(name: str) -> Any:
    column, null_as = SORT_COLUMNS[name]
    return func.coalesce(column, null_as) if null_as is not None else column


def _key_value(row: Image, name: str) -> Any:
    value = getattr(row, name)
    null_as = SORT_COLUMNS[name][1]
    return null_as if value is None and null_as is not None else value


def visible_clause(spec: ListSpec) -> ColumnElement[bool]:
    """Glance's rule for which images a caller may list at all (before the visibility filter)."""
    clauses: list[ColumnElement[bool]] = [Image.deleted.is_(False)]
    me = spec.project_id
    if not spec.is_admin:
        member = [ImageMember.image_id == Image.id, ImageMember.member == (me or "")]
        if spec.member_status != "all":
            member.append(ImageMember.status == spec.member_status)
        seen = [Image.visibility.in_(["public", "community"]),
                and_(Image.visibility == "shared", exists().where(*member))]
        if me:
            seen.append(Image.owner == me)
        clauses.append(or_(*seen))
    if spec.visibility and spec.visibility != "all":
        clauses.append(Image.visibility == spec.visibility)
    elif spec.visibility is None:
        # Without a visibility filter, community images show only to their owner.
        clauses.append(or_(Image.visibility != "community", Image.owner == (me or "")))
    return and_(*clauses)


def _filters(spec: ListSpec) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    for name, values in spec.equals.items():
        column = EQ_FILTERS[name]
        out.append(column.in_(values) if len(values) > 1 else column == values[0])
    for name, conds in spec.times.items():
        when = TIME_FILTERS[name]
        for c in conds:
            out.append({"gt": when > c.value, "gte": when >= c.value, "lt": when < c.value,
                        "lte": when <= c.value, "eq": when == c.value, "neq": when != c.value}[c.op])
    if spec.size_min is not None:
        out.append(Image.size >= spec.size_min)
    if spec.size_max is not None:
        out.append(Image.size <= spec.size_max)
    if not spec.os_hidden:
        out.append(Image.os_hidden.is_(False))
    else:
        out.append(Image.os_hidden.is_(True))
    if spec.protected is not None:
        out.append(Image.protected.is_(spec.protected))
    for tag in spec.tags:
        out.append(exists().where(ImageTag.image_id == Image.id, ImageTag.value == tag))
    for name, value in spec.properties.items():
        out.append(exists().where(ImageProperty.image_id == Image.id, ImageProperty.name == name,
                                  ImageProperty.value == value))
    return out


def _order(spec: ListSpec) -> list[tuple[str, str]]:
    keys = list(spec.sort)
    if not any(k == "id" for k, _ in keys):
        keys.append(("id", keys[-1][1] if keys else "desc"))
    return keys


def _after(marker: Image, keys: list[tuple[str, str]]) -> ColumnElement[bool]:
    """Rows strictly after ``marker`` in the (key, direction) order: the keyset condition."""
    ors = []
    for i, (name, direction) in enumerate(keys):
        ands = [_key(k) == _key_value(marker, k) for k, _ in keys[:i]]
        expr, value = _key(name), _key_value(marker, name)
        ands.append(expr > value if direction == "asc" else expr < value)
        ors.append(and_(*ands))
    return or_(*ors)


async def list_images(s: AsyncSession, spec: ListSpec, marker: Image | None = None) -> list[Image]:
    keys = _order(spec)
    q = select(Image).where(visible_clause(spec), *_filters(spec))
    if marker is not None:
        q = q.where(_after(marker, keys))
    q = q.order_by(*[_key(k).asc() if d == "asc" else _key(k).desc() for k, d in keys])
    q = q.limit(spec.limit)
    return list((await s.execute(q)).scalars().all())


async def visible_by_id(s: AsyncSession, spec: ListSpec, image_id: str) -> Image | None:
    """The marker row, if the caller may list it (any visibility filter aside)."""
    loose = ListSpec(project_id=spec.project_id, is_admin=spec.is_admin, visibility="all",
                     member_status="all")
    q = select(Image).where(Image.id == image_id, visible_clause(loose))
    return (await s.execute(q)).scalars().first()
