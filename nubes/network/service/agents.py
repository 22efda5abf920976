"""Agents: heartbeats from the per-host data-plane agents, their alive state, and the calls they make.

Agents never touch the database: they call ``network.server`` on the bus (see ``rpc_handlers``)
to report their state and to fetch the full desired state of their host.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Agent

AGENT_TYPES = {"dhcp": "DHCP agent", "l3": "L3 agent", "l2": "Linux bridge agent", "metadata": "Metadata agent"}


def is_alive(agent: Agent, conf: Any, now: datetime | None = None) -> bool:
    now = now or datetime.now(UTC)
    return agent.heartbeat_timestamp is not None and \
        now - agent.heartbeat_timestamp <= timedelta(seconds=conf.agent_down_time)


async def zones(s: AsyncSession, conf: Any, kind: str) -> list[str]:
    """Availability zones with an alive, enabled agent of ``kind`` ("dhcp" or "l3")."""
    rows = (await s.execute(select(Agent).where(Agent.agent_type == AGENT_TYPES[kind],
                                                Agent.admin_state_up.is_(True)))).scalars().all()
    return sorted({a.availability_zone for a in rows if a.availability_zone and is_alive(a, conf)})


def rpc_handlers(state: Any) -> dict[str, Any]:
    return {}
