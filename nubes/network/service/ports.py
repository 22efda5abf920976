"""Ports: a device's attachment to a network, with its MAC, fixed IPs, security groups and binding."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Port
from nubes.network.db.queries import tags as tag_q


async def delete_rows(s: AsyncSession, port_ids: list[str]) -> None:
    """Delete ports and what hangs off them (IP allocations, pairs, options, groups, tags)."""
    if not port_ids:
        return
    for port_id in port_ids:
        await tag_q.delete_all(s, "ports", port_id)
    await s.execute(delete(Port).where(Port.id.in_(port_ids)))
