"""Handlers for /v2.0/agents (administrators only): list, show, enable/disable and describe, delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import agents as q
from nubes.network.db.queries import listing as qlisting
from nubes.network.exceptions import AgentNotFound
from nubes.network.service.agents import is_alive, now

RESOURCE, COLLECTION = "agent", "agents"

ATTRS = [
    Attr("admin_state_up", v.boolean, post=False),
    Attr("description", v.string(255, allow_none=True), post=False),
    *attributes.read_only("id", "agent_type", "binary", "topic", "host", "created_at", "started_at",
                          "heartbeat_timestamp", "alive", "configurations", "availability_zone"),
]
# The list filters' names and kinds (the time they are built at does not matter for that).
_FILTERS = q.filters(now(), 0)


def _time(dt: datetime | None) -> str | None:
    """Neutron shows agent times as "2017-09-12 19:40:38" (UTC, no zone)."""
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt is not None else None


def view(req: Request, row: Any) -> dict[str, Any]:
    return {
        "id": row.id, "agent_type": row.agent_type, "binary": row.binary, "topic": row.topic,
        "host": row.host, "admin_state_up": row.admin_state_up, "created_at": _time(row.created_at),
        "started_at": _time(row.started_at), "heartbeat_timestamp": _time(row.heartbeat_timestamp),
        "alive": is_alive(row, req.rt.service_conf), "configurations": row.configurations or {},
        "description": row.description, "availability_zone": row.availability_zone,
    }


def _target() -> dict[str, Any]:
    return {}


def _service(req: Request) -> Any:
    return req.rt.extra["network"].agents


def _may(ctx: RequestContext, action: str, agent_id: str) -> None:
    if not ctx.allowed("get_agent", _target()):
        raise AgentNotFound(agent_id)
    ctx.can(f"{action}_agent", _target())


async def list_agents(req: Request):
    ctx = req.ctx
    query = listing.parse(req, qlisting.kinds(_FILTERS), qlisting.sortable(_FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    if not ctx.allowed("get_agent", _target()):
        return resource.many(req, COLLECTION, [], query, False)
    rows, more = await _service(req).list(ctx, query)
    return resource.many(req, COLLECTION, [view(req, r) for r in rows], query, more)


async def show_agent(req: Request):
    ctx = req.ctx
    agent_id = req.path_params["agent_id"]
    if not ctx.allowed("get_agent", _target()):
        raise AgentNotFound(agent_id)
    row = await _service(req).show(ctx, agent_id)
    return resource.one(RESOURCE, resource.select_fields(view(req, row), resource.fields_of(req)))


async def update_agent(req: Request):
    ctx = req.ctx
    agent_id = req.path_params["agent_id"]
    values = attributes.parse(attributes.envelope(await read_json(req), RESOURCE), ATTRS, create=False)
    _may(ctx, "update", agent_id)
    row = await _service(req).update(ctx, agent_id, values)
    return resource.one(RESOURCE, view(req, row))


async def delete_agent(req: Request):
    ctx = req.ctx
    agent_id = req.path_params["agent_id"]
    _may(ctx, "delete", agent_id)
    await _service(req).delete(ctx, agent_id)
    return empty_response(204)
