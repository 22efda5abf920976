"""Network rows: who may see them, list filters, eager loading, segment allocation lookups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, false, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from nubes.network.db.models import Network, NetworkRbac, NetworkSegment, Subnet
from nubes.network.db.queries.listing import Filter, col, custom

SHARED = "access_as_shared"
EXTERNAL = "access_as_external"


def rbac_exists(action: str, targets: Iterable[str] | None = None) -> ColumnElement:
    cond = [NetworkRbac.object_id == Network.id, NetworkRbac.action == action]
    if targets is not None:
        cond.append(NetworkRbac.target_project.in_(list(targets)))
    return exists().where(*cond)


def visible_to(project_id: str | None) -> ColumnElement:
    """Own networks, networks shared with the project or everyone, and external networks."""
    targets = ["*"] + ([project_id] if project_id else [])
    return or_(Network.project_id == project_id if project_id else false(),
               rbac_exists(SHARED, targets), rbac_exists(EXTERNAL, targets))


def _bool_rbac(action: str) -> Any:
    def build(values: list[bool]) -> ColumnElement:
        if all(values) or not any(values):
            return rbac_exists(action, ["*"]) if values[0] else ~rbac_exists(action, ["*"])
        return true()
    return build


def _segment_attr(column: Any, kind: str = "str") -> Filter:
    def build(values: list[Any]) -> ColumnElement:
        return exists().where(NetworkSegment.network_id == Network.id, column.in_(values))
    return custom(build, kind)


FILTERS: dict[str, Filter] = {
    "id": col(Network.id), "name": col(Network.name), "description": col(Network.description),
    "tenant_id": col(Network.project_id), "project_id": col(Network.project_id),
    "status": col(Network.status), "admin_state_up": col(Network.admin_state_up, "bool"),
    "mtu": col(Network.mtu, "int"), "port_security_enabled": col(Network.port_security_enabled, "bool"),
    "revision_number": col(Network.revision_number, "int"),
    "created_at": col(Network.created_at, sortable=True), "updated_at": col(Network.updated_at),
    "shared": custom(_bool_rbac(SHARED), "bool"),
    "router:external": custom(_bool_rbac(EXTERNAL), "bool"),
    "provider:network_type": _segment_attr(NetworkSegment.network_type),
    "provider:physical_network": _segment_attr(NetworkSegment.physical_network),
    "provider:segmentation_id": _segment_attr(NetworkSegment.segmentation_id, "int"),
    "subnets": custom(lambda ids: exists().where(Subnet.network_id == Network.id, Subnet.id.in_(ids))),
    "availability_zone_hints": custom(lambda _v: true(), "raw"),
    "l2_adjacency": custom(lambda _v: true(), "raw"),
}


def base_select() -> Any:
    return select(Network).options(selectinload(Network.segments), selectinload(Network.rbac_entries))


async def get(s: AsyncSession, network_id: str, *, for_update: bool = False) -> Network | None:
    stmt = base_select().where(Network.id == network_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await s.execute(stmt)).scalars().first()


async def subnet_ids(s: AsyncSession, network_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(network_ids)
    out: dict[str, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        rows = await s.execute(select(Subnet.network_id, Subnet.id)
                               .where(Subnet.network_id.in_(ids[start:start + 500]))
                               .order_by(Subnet.created_at, Subnet.id))
        for net_id, subnet_id in rows.all():
            out[net_id].append(subnet_id)
    return out


async def used_segmentation_ids(s: AsyncSession, network_type: str, physical_network: str) -> set[int]:
    rows = await s.execute(select(NetworkSegment.segmentation_id).where(
        NetworkSegment.network_type == network_type, NetworkSegment.physical_network == physical_network,
        NetworkSegment.segmentation_id.is_not(None)))
    return {r for r, in rows.all()}


async def segment_taken(s: AsyncSession, network_type: str, physical_network: str,
                        segmentation_id: int | None) -> bool:
    stmt = select(NetworkSegment.id).where(NetworkSegment.network_type == network_type,
                                           NetworkSegment.physical_network == physical_network,
                                           NetworkSegment.segmentation_id == segmentation_id)
    return (await s.execute(stmt.limit(1))).first() is not None
