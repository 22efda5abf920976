"""What every Neutron resource handler shares: the wire form of standard attributes, field
selection, attribute policies on reads, revision preconditions, and the response envelopes."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any

from starlette.responses import Response

from nubes.core.api.http import Request, json_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing
from nubes.network.exceptions import BadRequest, PreconditionFailed

_IF_MATCH = re.compile(r"revision_number=(\d+)")


def isotime(dt: datetime | None) -> str | None:
    # isoformat is several times cheaper than strftime, which lists of thousands feel.
    return dt.replace(tzinfo=None, microsecond=0).isoformat() + "Z" if dt is not None else None


def standard(row: Any, tags: list[str] | None = None) -> dict[str, Any]:
    out = {"description": row.description, "created_at": isotime(row.created_at),
           "updated_at": isotime(row.updated_at), "revision_number": row.revision_number}
    if tags is not None:
        out["tags"] = list(tags)
    return out


def owner(row: Any) -> dict[str, str]:
    return {"tenant_id": row.project_id, "project_id": row.project_id}


def hide(ctx: RequestContext, resource: str, data: dict[str, Any], guarded: Iterable[str],
         target: dict[str, Any]) -> dict[str, Any]:
    """Drop the attributes whose ``get_<resource>:<attr>`` rule the caller does not pass."""
    for attr in guarded:
        if attr in data and not ctx.allowed(f"get_{resource}:{attr}", target):
            del data[attr]
    return data


def select_fields(data: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    if not fields:
        return data
    return {k: v for k, v in data.items() if k in fields}


def one(resource: str, data: dict[str, Any], status: int = 200) -> Response:
    return json_response({resource: data}, status)


def many(req: Request, collection: str, items: list[dict[str, Any]], q: listing.ListQuery,
         more: bool) -> Response:
    body: dict[str, Any] = {collection: [select_fields(i, q.fields) for i in items]}
    links = listing.links(req, collection, q, items, more)
    if links:
        body[f"{collection}_links"] = links
    return json_response(body)


async def create(req: Request, resource: str, collection: str, create_one: Callable[[dict[str, Any]], Awaitable[Any]],
                 undo: Callable[[Any], Awaitable[None]], render: Callable[[Any], dict[str, Any]]) -> Response:
    """A POST body of one ``{"<resource>": {...}}`` or a bulk ``{"<collection>": [...]}``.

    A bulk create is all or nothing: if one item fails, what the others made is undone and the
    error is the failing item's.
    """
    body = await read_json(req)
    if not (isinstance(body, dict) and collection in body and resource not in body):
        return one(resource, render(await create_one(attributes.envelope(body, resource))), 201)
    items = body[collection]
    if not isinstance(items, list) or not items:
        raise BadRequest(f"Invalid input for {collection}: a non-empty list is required")
    made: list[Any] = []
    try:
        for item in items:
            if not isinstance(item, dict):
                raise BadRequest(f"Invalid input for {resource}. Reason: '{item}' is not a dictionary.")
            made.append(await create_one(item))
    except Exception:
        for rec in reversed(made):
            await undo(rec)
        raise
    return json_response({collection: [render(r) for r in made]}, 201)


def fields_of(req: Request) -> list[str] | None:
    fields = [f for v in req.query_params.getlist("fields") for f in v.split(",") if f]
    return fields or None


def expected_revision(req: Request) -> int | None:
    """The revision an ``If-Match: revision_number=N`` header requires, or None."""
    header = req.headers.get("if-match")
    if not header:
        return None
    m = _IF_MATCH.search(header)
    if m is None:
        raise BadRequest(f"If-Match header {header!r} must be of the form revision_number=<N>")
    return int(m.group(1))


def require_revision(expected: int | None, row: Any) -> None:
    if expected is not None and row.revision_number != expected:
        raise PreconditionFailed(expected, row.revision_number)
