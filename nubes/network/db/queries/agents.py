"""Agent rows: list filters (``alive`` from the heartbeat), the report-state upsert, zones."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Agent
from nubes.network.db.queries.listing import Filter, col, custom


def alive_condition(now: datetime, down_time: int) -> ColumnElement:
    return Agent.heartbeat_timestamp >= now - timedelta(seconds=down_time)


def filters(now: datetime, down_time: int) -> dict[str, Filter]:
    def alive(values: list[bool]) -> ColumnElement:
        if all(values):
            return alive_condition(now, down_time)
        if not any(values):
            return ~alive_condition(now, down_time)
        return true()

    return {
        "id": col(Agent.id), "agent_type": col(Agent.agent_type), "binary": col(Agent.binary),
        "topic": col(Agent.topic), "host": col(Agent.host),
        "availability_zone": col(Agent.availability_zone),
        "admin_state_up": col(Agent.admin_state_up, "bool"), "description": col(Agent.description),
        "created_at": col(Agent.created_at), "started_at": col(Agent.started_at),
        "heartbeat_timestamp": col(Agent.heartbeat_timestamp),
        "alive": custom(alive, "bool"),
    }


async def get(s: AsyncSession, agent_id: str, *, for_update: bool = False) -> Agent | None:
    stmt = select(Agent).where(Agent.id == agent_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def by_type_and_host(s: AsyncSession, agent_type: str, host: str) -> Agent | None:
    stmt = select(Agent).where(Agent.agent_type == agent_type, Agent.host == host).with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def of_types(s: AsyncSession, agent_types: list[str]) -> list[Agent]:
    return list((await s.execute(select(Agent).where(Agent.agent_type.in_(agent_types))
                                 .order_by(Agent.host))).scalars().all())


def base_select() -> Any:
    return select(Agent)
