"""Server groups: create (within the project's quota), list, show with live members, delete."""

from __future__ import annotations

import uuid
from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.db.models import ServerGroup
from nubes.compute.db.queries import server_groups as q

class GroupView:
    def __init__(self, row: ServerGroup, members: list[str]) -> None:
        self.row = row
        self.members = members


class ServerGroups:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _view(self, s: Any, row: ServerGroup) -> GroupView:
        return GroupView(row, sorted(i.id for i in await q.live_members(s, row.id)))

    async def create(self, ctx: RequestContext, name: str, policy: str, rules: dict[str, Any]) -> GroupView:
        async with self.state.db.session() as s:
            await self.state.quotas.check_server_groups(s, ctx.project_id or "", ctx.user_id or "")
            row = ServerGroup(id=str(uuid.uuid4()), project_id=ctx.project_id or "", user_id=ctx.user_id or "",
                              name=name, policy=policy, rules=rules, members=[])
            s.add(row)
        return GroupView(row, [])

    async def _get(self, s: Any, ctx: RequestContext, group_id: str) -> ServerGroup:
        row = await q.get(s, group_id)
        if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise exc.NotFound(f"Instance group {group_id} could not be found.")
        return row

    async def owner(self, ctx: RequestContext, group_id: str) -> dict[str, Any]:
        """The group's project and user (the API layer's policy target); 404 when not visible."""
        async with self.state.db.reader() as s:
            row = await self._get(s, ctx, group_id)
            return {"project_id": row.project_id, "user_id": row.user_id}

    async def show(self, ctx: RequestContext, group_id: str) -> GroupView:
        async with self.state.db.reader() as s:
            return await self._view(s, await self._get(s, ctx, group_id))

    async def list(self, ctx: RequestContext, *, all_projects: bool, limit: int | None,
                   offset: int) -> list[GroupView]:
        async with self.state.db.reader() as s:
            rows = await q.list_groups(s, None if all_projects else ctx.project_id, limit=limit, offset=offset)
            return [await self._view(s, r) for r in rows]

    async def delete(self, ctx: RequestContext, group_id: str) -> None:
        async with self.state.db.session() as s:
            await s.delete(await self._get(s, ctx, group_id))
