"""The query string of a Neutron list request: filters, fields, sorting, paging and tag filters.

Neutron lets a list be filtered on any attribute (``?name=a&name=b`` means either),
narrowed to some ``fields``, sorted by ``sort_key``/``sort_dir`` pairs and paged with
``limit``, ``marker`` and ``page_reverse``; ``tags``, ``tags-any``, ``not-tags`` and
``not-tags-any`` take comma-separated tags. A filter on an attribute the resource
does not have is refused (the ``filter-validation`` extension).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from nubes.core.api.http import Request
from nubes.core.jsondoc import INT64_MAX, INT64_MIN
from nubes.network.exceptions import BadRequest

TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_CONTROL = {"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse", *TAG_FILTERS}


@dataclass
class ListQuery:
    filters: dict[str, list[Any]] = field(default_factory=dict)
    fields: list[str] | None = None
    sorts: list[tuple[str, bool]] = field(default_factory=list)   # (attribute, ascending)
    limit: int | None = None
    marker: str | None = None
    page_reverse: bool = False
    tags: dict[str, list[str]] = field(default_factory=dict)


def _bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise BadRequest(f"Invalid input for {name}. Reason: '{value}' cannot be converted to boolean.")


def _int(value: str, name: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"Invalid input for {name}. Reason: '{value[:40]}' is not an integer.") from None
    if n > INT64_MAX:     # no column holds more: the database could not even compare it
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is too large - must be no larger "
                         f"than '{INT64_MAX}'.")
    if n < INT64_MIN:
        raise BadRequest(f"Invalid input for {name}. Reason: '{value}' is too small - must be at least "
                         f"'{INT64_MIN}'.")
    return n


def _time(value: str, name: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid input for {name}. Reason: '{value[:40]}' is not a valid date and "
                         "time (ISO 8601).") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


CONVERT = {"str": lambda v, _n: v, "bool": _bool, "int": _int, "time": _time}


def parse(req: Request, kinds: Mapping[str, str], sortable: set[str] | None = None,
          max_limit: int = -1) -> ListQuery:
    """``kinds`` maps each filterable attribute to "str", "bool", "int" or "raw" (kept as text)."""
    params = req.query_params
    q = ListQuery()
    bad = sorted({k for k in params if k not in _CONTROL and k not in kinds})
    if bad:
        raise BadRequest(f"[{', '.join(bad)}] is invalid attribute for filtering")
    for key in dict.fromkeys(params):
        if key in _CONTROL:
            continue
        kind = kinds[key]
        values = params.getlist(key)
        q.filters[key] = values if kind == "raw" else [CONVERT[kind](v, key) for v in values]
    fields = [f for v in params.getlist("fields") for f in v.split(",") if f]
    q.fields = fields or None
    for name in TAG_FILTERS:
        tags = [t for v in params.getlist(name) for t in v.split(",") if t]
        if tags:
            q.tags[name] = tags
    keys, dirs = params.getlist("sort_key"), params.getlist("sort_dir")
    if dirs and len(keys) != len(dirs):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    allowed_sort = sortable if sortable is not None else set(kinds)
    for i, key in enumerate(keys):
        if key not in allowed_sort:
            raise BadRequest(f"{key} is an invalid attribute for sort_keys")
        direction = dirs[i].lower() if dirs else "asc"
        if direction not in ("asc", "desc"):
            raise BadRequest(f"{dirs[i]} is an invalid value for sort_dirs, valid values are 'asc' and 'desc'")
        q.sorts.append((key, direction == "asc"))
    limit = params.get("limit")
    if limit is not None and limit != "":
        try:
            n = int(limit)
        except ValueError:
            raise BadRequest(f"Limit must be an integer 0 or greater and not '{limit[:40]}'") from None
        if n < 0:
            raise BadRequest(f"Limit must be an integer 0 or greater and not '{limit[:40]}'")
        # A limit past what any table holds is no limit (and SQL could not carry it).
        q.limit = n if 0 < n <= INT64_MAX else None
    if max_limit and max_limit > 0:
        q.limit = min(q.limit or max_limit, max_limit)
    q.marker = params.get("marker") or None
    q.page_reverse = _bool(params.get("page_reverse", "false"), "page_reverse")
    return q


def links(req: Request, collection: str, q: ListQuery, items: list[dict[str, Any]],
          has_more: bool) -> list[dict[str, str]]:
    """Neutron's ``<collection>_links``: next (when more remain) and previous (when paged)."""
    if q.limit is None or not items:
        return []
    base = str(req.url.replace(query=""))
    kept = [(k, v) for k, v in req.query_params.multi_items() if k not in ("marker", "page_reverse")]
    out = []
    first, last = items[0]["id"], items[-1]["id"]
    if q.page_reverse:
        first, last = last, first
    forward_more = has_more if not q.page_reverse else bool(q.marker)
    backward_more = bool(q.marker) if not q.page_reverse else has_more
    if forward_more:
        out.append({"rel": "next", "href": f"{base}?{urlencode([*kept, ('marker', last)])}"})
    if backward_more:
        out.append({"rel": "previous",
                    "href": f"{base}?{urlencode([*kept, ('marker', first), ('page_reverse', 'True')])}"})
    return out
