"""Subnets: IPv4 and IPv6 address ranges of a network, their pools, DNS servers and host routes."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import Subnet
from nubes.network.db.queries import tags as tag_q


async def delete_all_of_network(s: AsyncSession, network_id: str) -> None:
    """Remove every subnet of a network being deleted (its ports are gone already)."""
    ids = [i for i, in (await s.execute(select(Subnet.id).where(Subnet.network_id == network_id))).all()]
    for subnet_id in ids:
        await tag_q.delete_all(s, "subnets", subnet_id)
    if ids:
        await s.execute(delete(Subnet).where(Subnet.id.in_(ids)))
