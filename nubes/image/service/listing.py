"""GET /v2/images as Glance reads it: filters, visibility and member status, both sort syntaxes, paging."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.exceptions import BadRequest
from nubes.core.jsondoc import INT64_MAX, INT64_MIN
from nubes.image.db.queries import listing as lq
from nubes.image.service.access import Authorizer
from nubes.image.service.records import ImageRecord, load_many

SORT_KEYS = ("name", "status", "container_format", "disk_format", "size", "id", "created_at",
             "updated_at")
VISIBILITIES = ("community", "public", "private", "shared", "all")
MEMBER_STATUSES = ("pending", "accepted", "rejected", "all")
TIME_OPS = ("gt", "gte", "lt", "lte", "eq", "neq")
PAGING = ("limit", "marker", "sort", "sort_key", "sort_dir", "member_status")


def _sorting(params: list[tuple[str, str]]) -> list[tuple[str, str]]:
    names = [k for k, _ in params]
    keys = [v.strip() for k, v in params if k == "sort_key"]
    dirs = [v.strip() for k, v in params if k == "sort_dir"]
    if "sort" in names:
        if keys or dirs:
            raise BadRequest("Old and new sorting syntax cannot be combined")
        keys, dirs = [], []
        for item in [v for k, v in params if k == "sort"][-1].strip().split(","):
            key, _, direction = item.partition(":")
            keys.append(key.strip())
            dirs.append(direction.strip() or "desc")
    elif len(dirs) > 1 and len(dirs) != len(keys):
        raise BadRequest("Number of sort dirs does not match the number of sort keys")
    for key in keys:
        if key not in SORT_KEYS:
            raise BadRequest(f"Invalid sort key: {key}. It must be one of the following: "
                             f"{', '.join(SORT_KEYS)}.")
    for direction in dirs:
        if direction not in ("asc", "desc"):
            raise BadRequest(f"Invalid sort direction: {direction}")
    keys = keys or ["created_at"]
    if not dirs:
        dirs = ["desc"] * len(keys)
    elif len(dirs) == 1:
        dirs = dirs * len(keys)
    return list(zip(keys, dirs, strict=True))


def _time(value: str, name: str) -> lq.TimeFilter:
    op, sep, rest = value.partition(":")
    if not sep or op not in TIME_OPS:
        op, rest = "eq", value
    try:
        when = datetime.fromisoformat(rest.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Invalid time format for {name}.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return lq.TimeFilter(op, when)


def _bool(value: str, name: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise BadRequest(f"Invalid value '{value}' for '{name}' filter. Valid values are 'true' or 'false'.")
    return v == "true"


def _int(value: str, name: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"Unable to filter on a range with a non-numeric value ({name}).") from None
    if not INT64_MIN <= n <= INT64_MAX:       # image sizes are 8-byte integers
        raise BadRequest(f"'{name}' value out of range, must not exceed {INT64_MAX}.")
    return n


def parse(ctx: RequestContext, params: list[tuple[str, str]], conf: Any) -> tuple[lq.ListSpec, str | None]:
    spec = lq.ListSpec(project_id=ctx.project_id, is_admin=ctx.is_admin)
    one = dict(params)
    if "changes-since" in one:
        raise BadRequest('The "changes-since" filter is no longer available on v2.')
    spec.member_status = one.get("member_status", "accepted")
    if spec.member_status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status: {spec.member_status}")
    visibility = one.get("visibility")
    if visibility is not None and visibility not in VISIBILITIES:
        raise BadRequest(f"Invalid visibility value: {visibility}")
    spec.visibility = visibility or None
    limit = conf.limit_param_default
    if "limit" in one:
        try:
            limit = int(one["limit"])
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
    spec.limit = min(conf.api_limit_max, limit)
    spec.sort = _sorting(params)
    spec.tags = [v.strip() for k, v in params if k == "tag"]
    spec.os_hidden = _bool(one.get("os_hidden", "false"), "os_hidden")
    if "protected" in one:
        spec.protected = _bool(one["protected"], "protected")
    for key in ("size_min", "size_max"):
        if key in one:
            setattr(spec, key, _int(one[key], key))
    for key, value in params:
        if key in lq.EQ_FILTERS:
            values = value[3:].split(",") if value.startswith("in:") else [value]
            spec.equals[key] = [v.strip() for v in values]
        elif key in lq.TIME_FILTERS:
            spec.times.setdefault(key, []).append(_time(value, key))
        elif key not in (*PAGING, "visibility", "tag", "os_hidden", "protected", "size_min", "size_max"):
            spec.properties[key] = value
    return spec, one.get("marker")


async def list_images(state: Any, ctx: RequestContext, authz: Authorizer,
                      params: list[tuple[str, str]]) -> tuple[list[ImageRecord], str | None]:
    """The page of images and the marker for the next page (None on the last page)."""
    authz.listing()
    spec, marker_id = parse(ctx, params, state.conf)
    async with state.db.reader() as s:
        marker = None
        if marker_id is not None:
            marker = await lq.visible_by_id(s, spec, marker_id)
            if marker is None:
                raise BadRequest(f"marker {marker_id} could not be found.")
        rows = await lq.list_images(s, spec, marker) if spec.limit > 0 else []
        records = await load_many(s, rows)
    next_marker = records[-1].id if records and len(rows) == spec.limit else None
    return records, next_marker
