"""Agents: heartbeats from the per-host data-plane agents, their alive state, and the calls they make.

Agents never touch the database: they call ``network.server`` on the bus (see ``rpc_handlers``)
to report their state. ``report_state`` makes the agent's row on its first report and
refreshes its heartbeat after that; one row per agent type and host (a unique constraint),
so two first reports racing each other end with one row. An agent is alive while its last
heartbeat is younger than ``agent_down_time``. Availability zones are those the DHCP agents
(networks) and L3 agents (routers) report.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network.db.models import Agent
from nubes.network.db.queries import agents as q
from nubes.network.db.queries import listing
from nubes.network.exceptions import AgentNotFound, BadRequest
from nubes.network.service import transactions

AGENT_TYPES = {"dhcp": "DHCP agent", "l3": "L3 agent", "l2": "Linux bridge agent", "metadata": "Metadata agent"}
ZONE_RESOURCES = {"DHCP agent": "network", "L3 agent": "router"}


def now() -> datetime:
    return datetime.now(UTC)


def is_alive(agent: Agent, conf: Any, at: datetime | None = None) -> bool:
    at = at or now()
    return agent.heartbeat_timestamp is not None and \
        at - agent.heartbeat_timestamp <= timedelta(seconds=conf.agent_down_time)


async def zones(s: AsyncSession, conf: Any, kind: str) -> list[str]:
    """Availability zones with an alive, enabled agent of ``kind`` ("dhcp" or "l3")."""
    rows = (await s.execute(select(Agent).where(Agent.agent_type == AGENT_TYPES[kind],
                                                Agent.admin_state_up.is_(True)))).scalars().all()
    return sorted({a.availability_zone for a in rows if a.availability_zone and is_alive(a, conf)})


def _text(payload: dict, name: str, *, required: bool = True, max_len: int = 255) -> str | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value) or len(value) > max_len:
        raise BadRequest(f"Invalid agent state: {name} must be a non-empty string of at most "
                         f"{max_len} characters")
    return value


def _state(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise BadRequest("Invalid agent state: a dictionary is required")
    state = payload.get("agent_state", payload)
    if not isinstance(state, dict):
        raise BadRequest("Invalid agent state: agent_state must be a dictionary")
    configurations = state.get("configurations", {})
    if not isinstance(configurations, dict):
        raise BadRequest("Invalid agent state: configurations must be a dictionary")
    versions = state.get("resource_versions", {})
    if not isinstance(versions, dict):
        raise BadRequest("Invalid agent state: resource_versions must be a dictionary")
    return {"agent_type": _text(state, "agent_type"), "binary": _text(state, "binary"),
            "topic": _text(state, "topic"), "host": _text(state, "host"),
            "availability_zone": _text(state, "availability_zone", required=False),
            "configurations": configurations, "resource_versions": versions,
            "start_flag": bool(state.get("start_flag", False))}


class Agents:
    def __init__(self, state: Any) -> None:
        self.state = state

    @property
    def conf(self) -> Any:
        return self.state.conf

    # -- what agents call ---------------------------------------------------------------
    async def report_state(self, payload: Any) -> dict[str, Any]:
        """Upsert the reporting agent's row and refresh its heartbeat; its id and whether it is new."""
        st = _state(payload)

        async def tx(s: AsyncSession) -> tuple[str, str, bool]:
            at = now()
            row = await q.by_type_and_host(s, st["agent_type"], st["host"])
            if row is None:
                row = Agent(id=str(uuid.uuid4()), agent_type=st["agent_type"], host=st["host"],
                            binary=st["binary"], topic=st["topic"], availability_zone=st["availability_zone"],
                            configurations=st["configurations"], resource_versions=st["resource_versions"],
                            admin_state_up=True, description=None, created_at=at, started_at=at,
                            heartbeat_timestamp=at)
                s.add(row)
                await s.flush()        # a concurrent first report fails here; the retry updates
                return row.id, "new", True
            status = "alive" if is_alive(row, self.conf, at) else "revived"
            row.binary, row.topic = st["binary"], st["topic"]
            row.availability_zone = st["availability_zone"]
            row.configurations, row.resource_versions = st["configurations"], st["resource_versions"]
            if st["start_flag"]:
                row.started_at = at
            row.heartbeat_timestamp = at
            return row.id, status, bool(row.admin_state_up)

        agent_id, status, enabled = await transactions.write(self.state.db, tx)
        if status != "alive":
            await self.state.notifier.emit("agent", "create" if status == "new" else "update", agent_id)
        return {"id": agent_id, "status": status, "admin_state_up": enabled}

    # -- the admin API ----------------------------------------------------------------------
    async def show(self, ctx: RequestContext, agent_id: str) -> Agent:
        async with self.state.db.reader() as s:
            row = await q.get(s, agent_id)
        if row is None:
            raise AgentNotFound(agent_id)
        return row

    async def list(self, ctx: RequestContext, query: Any) -> tuple[list[Agent], bool]:
        async with self.state.db.reader() as s:
            return await listing.page(s, q.base_select(), Agent, q.filters(now(), self.conf.agent_down_time),
                                      query, "agents", not_found=AgentNotFound)

    async def update(self, ctx: RequestContext, agent_id: str, values: dict[str, Any]) -> Agent:
        async def tx(s: AsyncSession) -> None:
            row = await q.get(s, agent_id, for_update=True)
            if row is None:
                raise AgentNotFound(agent_id)
            for key in ("admin_state_up", "description"):
                if key in values:
                    setattr(row, key, values[key])

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("agent", "update", agent_id)
        return await self.show(ctx, agent_id)

    async def delete(self, ctx: RequestContext, agent_id: str) -> None:
        async def tx(s: AsyncSession) -> None:
            row = await q.get(s, agent_id, for_update=True)
            if row is None:
                raise AgentNotFound(agent_id)
            await s.delete(row)

        await transactions.write(self.state.db, tx)
        await self.state.notifier.emit("agent", "delete", agent_id)

    async def availability_zones(self) -> list[dict[str, str]]:
        """Neutron's zones: (name, resource) from DHCP and L3 agents; available while one there is
        enabled and alive."""
        async with self.state.db.reader() as s:
            rows = await q.of_types(s, list(ZONE_RESOURCES))
        at = now()
        zones: dict[tuple[str, str], bool] = {}
        for agent in rows:
            if not agent.availability_zone:
                continue
            key = (agent.availability_zone, ZONE_RESOURCES[agent.agent_type])
            up = bool(agent.admin_state_up) and is_alive(agent, self.conf, at)
            zones[key] = zones.get(key, False) or up
        return [{"name": name, "resource": resource, "state": "available" if up else "unavailable"}
                for (name, resource), up in sorted(zones.items())]


def rpc_handlers(state: Any) -> dict[str, Any]:
    """The ``network.server`` calls agents make."""
    async def report_state(payload: dict) -> dict[str, Any]:
        return await state.agents.report_state(payload)

    return {"report_state": report_state}
