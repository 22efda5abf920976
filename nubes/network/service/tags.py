"""Tags on taggable resources (/v2.0/<collection>/<id>/tags): list, check, add, replace, remove.

Changing tags counts as changing the resource: its revision number goes up. Only who may
update the resource may change its tags; who may see it may read them: the API layer decides,
with the ``authorize`` it passes (called with the resource's singular name, whether the call
writes, and its policy target, once the resource was found).
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

Authorize = Callable[[str, bool, dict[str, Any]], None]   # (resource, write, target); raises to refuse


class Tags:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _parent(self, s: AsyncSession, ctx: RequestContext, collection: str, resource_id: str,
                      authorize: Authorize, *, write: bool) -> Any:
        model, name, not_found = TAGGABLE[collection]
        if collection == "networks":
            from nubes.network.service.networks import visible

            row = await visible(s, ctx, resource_id)
        elif collection == "security-groups":
            from nubes.network.service.security_groups import visible as sg_visible

            row = await sg_visible(s, ctx, resource_id)
        else:
            row = await s.get(model, resource_id)
            if row is None or not (ctx.is_admin or row.project_id == ctx.project_id or
                                   getattr(row, "shared", False)):
                raise not_found(resource_id)
        authorize(name, write, {"project_id": row.project_id, "tenant_id": row.project_id})
        return row

    async def list(self, ctx: RequestContext, collection: str, resource_id: str,
                   authorize: Authorize) -> list[str]:
        async with self.state.db.reader() as s:
            await self._parent(s, ctx, collection, resource_id, authorize, write=False)
            return (await q.of(s, collection, [resource_id]))[resource_id]

    async def check(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                    tag: str) -> None:
        if tag not in await self.list(ctx, collection, resource_id, authorize):
            raise exc.TagNotFound(resource_id, tag)

    async def _change(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                      fn: Any) -> list[str]:
        async def tx(s: AsyncSession) -> list[str]:
            row = await self._parent(s, ctx, collection, resource_id, authorize, write=True)
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
                      tags: list[str]) -> list[str]:
        return await self._change(ctx, collection, resource_id, authorize,
                                  lambda s: q.replace(s, collection, resource_id, tags))

    async def add(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                  tag: str) -> None:
        await self._change(ctx, collection, resource_id, authorize,
                           lambda s: q.add(s, collection, resource_id, tag))

    async def remove(self, ctx: RequestContext, collection: str, resource_id: str, authorize: Authorize,
                     tag: str) -> None:
        async def fn(s: AsyncSession) -> None:
            if not await q.remove(s, collection, resource_id, tag):
                raise exc.TagNotFound(resource_id, tag)
        await self._change(ctx, collection, resource_id, authorize, fn)

    async def remove_all(self, ctx: RequestContext, collection: str, resource_id: str,
                         authorize: Authorize) -> None:
        await self._change(ctx, collection, resource_id, authorize,
                           lambda s: q.delete_all(s, collection, resource_id))
