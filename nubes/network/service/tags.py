"""Tags on taggable resources (/v2.0/<collection>/<id>/tags): list, check, add, replace, remove.

Changing tags counts as changing the resource: its revision number goes up. Who may read,
add, replace or remove them is Neutron's ``<action>_<resource>:tags`` rules: the API layer
decides, with the ``authorize`` it passes (called with the resource's singular name, the action
-- ``get``, ``create``, ``update`` or ``delete`` -- and the resource's own policy target, the one
its get and update rules see, once the resource was found).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.network import exceptions as exc
from nubes.network.db import models as m
from nubes.network.db.queries import tags as q
from nubes.network.service import transactions

# collection -> (model, singular resource name, not-found error)
TAGGABLE: dict[str, tuple[Any, str, type[exc.NotFound]]] = {
    "networks": (m.Network, "network", exc.NetworkNotFound),
    "subnets": (m.Subnet, "subnet", exc.SubnetNotFound),
    "ports": (m.Port, "port", exc.PortNotFound),
    "routers": (m.Router, "router", exc.RouterNotFound),
    "floatingips": (m.FloatingIP, "floatingip", exc.FloatingIPNotFound),
    "security-groups": (m.SecurityGroup, "security_group", exc.SecurityGroupNotFound),
    "subnetpools": (m.SubnetPool, "subnetpool", exc.SubnetPoolNotFound),
}

MAX_TAGS = 50

Authorize = Callable[[str, str, dict[str, Any]], None]   # (resource, action, target); raises to refuse


async def _found(s: AsyncSession, ctx: RequestContext, collection: str, resource_id: str) -> tuple[Any, dict[str, Any]]:
    """The tagged resource as its caller may see it, with the policy target of its own rules."""
    from nubes.network.service import floatingips, networks, ports, routers, security_groups, subnetpools, subnets

    if collection == "networks":
        row = await networks.visible(s, ctx, resource_id)
        rec = networks.NetworkRecord(row, shared=networks.is_shared_for(row, ctx.project_id) or
                                     networks.is_shared_for(row, None), external=networks.is_external(row))
        return row, rec.policy_target()
    if collection == "subnets":
        row, info = await subnets.visible(s, ctx, resource_id)
        return row, subnets.SubnetRecord(row, info).policy_target()
    if collection == "ports":
        row, info = await ports.visible(s, ctx, resource_id)
        return row, ports.PortRecord(row, info).policy_target()
    if collection == "security-groups":
        row = await security_groups.visible(s, ctx, resource_id)
        return row, security_groups.target_of(row, ctx.project_id)
    if collection == "subnetpools":
        row = await subnetpools.visible(s, ctx, resource_id)
        return row, subnetpools.PoolRecord(row).policy_target()
    if collection == "routers":
        row = await routers.visible(s, ctx, resource_id)
        return row, routers.RouterRecord(row).policy_target()
    row = await floatingips.visible(s, ctx, resource_id)
    return row, floatingips.FloatingIPRecord(row).policy_target()


class Tags:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _parent(self, s: AsyncSession, ctx: RequestContext, collection: str, resource_id: str,
                      authorize: Authorize, action: str) -> Any:
        row, target = await _found(s, ctx, collection, resource_id)
        authorize(TAGGABLE[collection][1], action, target)
        return row

    async def list(self, ctx: RequestContext, collection: str, resource_id: str,
                   authorize: Authorize) -> list[str]:
        async with self.state.db.reader() as s:
            await self._parent(s, ctx, collection, resource_id, authorize, "get")
            return (await q.of(s, collection, [resource_id]))[resource_id]

    async def check(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                    tag: str) -> None:
        if tag not in await self.list(ctx, collection, resource_id, authorize):
            raise exc.TagNotFound(resource_id, tag)

    async def _change(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                      action: str, fn: Any) -> list[str]:
        async def tx(s: AsyncSession) -> list[str]:
            row = await self._parent(s, ctx, collection, resource_id, authorize, action)
            await fn(s)
            await s.flush()
            tags = (await q.of(s, collection, [resource_id]))[resource_id]
            if len(tags) > MAX_TAGS:
                raise exc.BadRequest(f"The number of tags exceeds the limit of {MAX_TAGS}.")
            transactions.bump(row)
            return tags

        tags = await transactions.write(self.state.db, tx)
        await self.state.notifier.emit(TAGGABLE[collection][1], "update", resource_id)
        return tags

    async def replace(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                      tags: list[str], action: str = "update") -> list[str]:
        """The resource's tags become ``tags`` (``action`` "create" for the tags of a create)."""
        return await self._change(ctx, collection, resource_id, authorize, action,
                                  lambda s: q.replace(s, collection, resource_id, tags))

    async def add(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                  tag: str) -> None:
        await self._change(ctx, collection, resource_id, authorize, "update",
                           lambda s: q.add(s, collection, resource_id, tag))

    async def remove(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                     tag: str) -> None:
        async def fn(s: AsyncSession) -> None:
            if not await q.remove(s, collection, resource_id, tag):
                raise exc.TagNotFound(resource_id, tag)
        await self._change(ctx, collection, resource_id, authorize, "delete", fn)

    async def remove_all(self, ctx: RequestContext, collection: str, resource_id: str,
                         authorize: Authorize) -> None:
        await self._change(ctx, collection, resource_id, authorize, "delete",
                           lambda s: q.delete_all(s, collection, resource_id))
