"""RBAC entries of every object type: their rows, list filters, and what still depends on an entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.network.db.models import (
    FloatingIP,
    NetworkRbac,
    Port,
    PortSecurityGroup,
    Router,
    SecurityGroupRbac,
)
from nubes.network.db.queries.listing import Filter, col, custom, filter_conditions

MODELS: dict[str, Any] = {"network": NetworkRbac, "security_group": SecurityGroupRbac}


def filters(model: Any, object_type: str) -> dict[str, Filter]:
    def of_type(values: list[str]) -> ColumnElement:
        return true() if object_type in values else false()

    return {
        "id": col(model.id), "object_id": col(model.object_id), "action": col(model.action),
        "target_tenant": col(model.target_project), "project_id": col(model.project_id),
        "tenant_id": col(model.project_id), "object_type": custom(of_type),
    }


# The wire names a list may sort by, and how to read them off a row.
SORT_KEYS = {"id": "id", "object_id": "object_id", "action": "action", "target_tenant": "target_project",
             "project_id": "project_id", "tenant_id": "project_id"}


async def entries(s: AsyncSession, object_type: str, wanted: dict[str, list[Any]],
                  owner: str | None = None) -> list[Any]:
    """The entries of one type matching the list filters (only ``owner``'s unless None)."""
    model = MODELS[object_type]
    stmt = select(model).where(*filter_conditions(filters(model, object_type), wanted))
    if owner is not None:
        stmt = stmt.where(model.project_id == owner)
    return list((await s.execute(stmt)).scalars().all())


async def find(s: AsyncSession, entry_id: str, *, for_update: bool = False) -> tuple[str, Any] | None:
    for object_type, model in MODELS.items():
        stmt = select(model).where(model.id == entry_id)
        if for_update:
            stmt = stmt.with_for_update()
        row = (await s.execute(stmt)).scalars().first()
        if row is not None:
            return object_type, row
    return None


async def same(s: AsyncSession, object_type: str, object_id: str, action: str, target: str) -> Any:
    model = MODELS[object_type]
    return (await s.execute(select(model).where(model.object_id == object_id, model.action == action,
                                                model.target_project == target))).scalars().first()


async def targets(s: AsyncSession, object_type: str, object_id: str, action: str,
                  exclude_id: str | None = None) -> set[str]:
    """The projects (or "*") the object is open to by ``action``, leaving one entry out."""
    model = MODELS[object_type]
    stmt = select(model.id, model.target_project).where(model.object_id == object_id, model.action == action)
    return {t for i, t in (await s.execute(stmt)).all() if i != exclude_id}


def _projects(stmt: Any, column: Any, only: Iterable[str] | None, allowed: Iterable[str] | None) -> Any:
    if only is not None:
        stmt = stmt.where(column.in_(list(only)))
    if allowed is not None:
        stmt = stmt.where(column.not_in(list(allowed)))
    return stmt


async def network_ports(s: AsyncSession, network_id: str, only: Iterable[str] | None = None,
                        allowed: Iterable[str] | None = None) -> list[str]:
    """Ports on the network of the projects in ``only`` / not in ``allowed``."""
    stmt = _projects(select(Port.id).where(Port.network_id == network_id), Port.project_id, only, allowed)
    return [p for p, in (await s.execute(stmt.limit(20))).all()]


async def external_users(s: AsyncSession, network_id: str, only: Iterable[str] | None = None,
                         allowed: Iterable[str] | None = None) -> list[str]:
    """Routers with their gateway on the network, and floating IPs from it, of those projects."""
    routers = _projects(select(Router.id).join(Port, Port.id == Router.gw_port_id)
                        .where(Port.network_id == network_id), Router.project_id, only, allowed)
    fips = _projects(select(FloatingIP.id).where(FloatingIP.floating_network_id == network_id),
                     FloatingIP.project_id, only, allowed)
    return ([r for r, in (await s.execute(routers.limit(20))).all()]
            + [f for f, in (await s.execute(fips.limit(20))).all()])


async def group_ports(s: AsyncSession, group_id: str, only: Iterable[str] | None = None,
                      allowed: Iterable[str] | None = None) -> list[str]:
    stmt = _projects(select(Port.id).join(PortSecurityGroup, PortSecurityGroup.port_id == Port.id)
                     .where(PortSecurityGroup.security_group_id == group_id), Port.project_id, only, allowed)
    return [p for p, in (await s.execute(stmt.limit(20))).all()]
