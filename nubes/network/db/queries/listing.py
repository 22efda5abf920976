"""A Neutron list query applied in SQL: filters, tag filters, sort order, marker and limit.

Each resource's queries module declares its filterable attributes as
``{wire_name: Filter}``; a filter is a column (``in_`` its values) or a function that
builds the condition. Sorting always ends on the primary key so that markers are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.db.base import UTCDateTime
from nubes.network.db.models import Tag


@dataclass(frozen=True)
class Filter:
    kind: str = "str"                                      # how the API converts values
    column: Any = None                                     # filter with column IN values
    build: Callable[[list[Any]], ColumnElement] | None = None   # or build the condition
    sortable: bool = True


def col(column: Any, kind: str = "str", sortable: bool = True) -> Filter:
    if kind == "str" and isinstance(getattr(column, "type", None), UTCDateTime):
        kind = "time"          # created_at, updated_at: compared as datetimes, not as text
    return Filter(kind=kind, column=column, sortable=sortable)


def custom(build: Callable[[list[Any]], ColumnElement], kind: str = "str") -> Filter:
    return Filter(kind=kind, build=build, sortable=False)


def kinds(filters: Mapping[str, Filter]) -> dict[str, str]:
    return {name: f.kind for name, f in filters.items()}


def sortable(filters: Mapping[str, Filter]) -> set[str]:
    return {name for name, f in filters.items() if f.sortable and f.column is not None}


def _tag_exists(resource_type: str, id_column: Any, tag: str) -> ColumnElement:
    return exists().where(Tag.resource_type == resource_type, Tag.resource_id == id_column, Tag.tag == tag)


def tag_conditions(resource_type: str, id_column: Any, tags: Mapping[str, list[str]]) -> list[ColumnElement]:
    conds: list[ColumnElement] = []
    if "tags" in tags:
        conds.extend(_tag_exists(resource_type, id_column, t) for t in tags["tags"])
    if "tags-any" in tags:
        conds.append(or_(*(_tag_exists(resource_type, id_column, t) for t in tags["tags-any"])))
    if "not-tags" in tags:
        conds.append(~and_(*(_tag_exists(resource_type, id_column, t) for t in tags["not-tags"])))
    if "not-tags-any" in tags:
        conds.append(~or_(*(_tag_exists(resource_type, id_column, t) for t in tags["not-tags-any"])))
    return conds


def filter_conditions(filters: Mapping[str, Filter], values: Mapping[str, list[Any]]) -> list[ColumnElement]:
    conds: list[ColumnElement] = []
    for name, vals in values.items():
        f = filters[name]
        if f.build is not None:
            conds.append(f.build(vals))
        elif vals:
            conds.append(f.column.in_(vals))
        else:
            conds.append(false())
    return conds


async def page(s: AsyncSession, stmt: Select, model: Any, filters: Mapping[str, Filter], q: Any,
               resource_type: str, *, not_found: Callable[[str], Exception],
               scalars: bool = True) -> tuple[list[Any], bool]:
    """Rows of one page of ``stmt`` (already limited to what the caller may see) and whether more remain.

    ``scalars=False`` for a select of columns (plain rows: far cheaper than ORM objects when a
    list returns thousands of them).
    """
    conds = filter_conditions(filters, q.filters)
    conds += tag_conditions(resource_type, model.id, q.tags)
    if conds:
        stmt = stmt.where(*conds)
    keys = [(filters[name].column, asc) for name, asc in q.sorts]
    if not any(c is model.id for c, _ in keys):
        keys.append((model.id, keys[-1][1] if keys else True))
    forward = not q.page_reverse
    if q.marker:
        values = (await s.execute(select(*[c for c, _ in keys]).where(model.id == q.marker))).first()
        if values is None:
            raise not_found(q.marker)
        stmt = stmt.where(_after(keys, list(values), forward))
    stmt = stmt.order_by(*[(c.asc() if asc == forward else c.desc()) for c, asc in keys])
    if q.limit:
        stmt = stmt.limit(q.limit + 1)
    result = await s.execute(stmt)
    rows = list(result.scalars().unique().all() if scalars else result.all())
    more = bool(q.limit) and len(rows) > q.limit
    rows = rows[: q.limit] if q.limit else rows
    if not forward:
        rows.reverse()
    return rows, more


def _after(keys: list[tuple[Any, bool]], values: list[Any], forward: bool) -> ColumnElement:
    """Rows strictly after the marker in the sort order (keyset pagination over several keys)."""
    clauses = []
    for i, (column, asc) in enumerate(keys):
        equal = [keys[j][0] == values[j] for j in range(i)]
        beyond = column > values[i] if asc == forward else column < values[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)
