"""Instance actions and their events, for ``/servers/{id}/os-instance-actions``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.db.models import InstanceAction
from nubes.compute.db.queries import actions as q
from nubes.compute.db.queries import instances as qi

class InstanceActions:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def _instance(self, s: Any, ctx: RequestContext, instance_id: str, with_deleted: bool) -> Any:
        row = await qi.get(s, instance_id, deleted=None if with_deleted else False)
        if row is None or (row.project_id != ctx.project_id and not ctx.is_admin):
            raise exc.InstanceNotFound(instance_id)
        return row

    async def owner(self, ctx: RequestContext, instance_id: str, *, with_deleted: bool) -> dict[str, Any]:
        """The server's project and user (the API layer's policy target); 404 when not visible."""
        async with self.state.db.reader() as s:
            inst = await self._instance(s, ctx, instance_id, with_deleted)
            return {"project_id": inst.project_id, "user_id": inst.user_id}

    async def list(self, ctx: RequestContext, instance_id: str, *, with_deleted: bool,
                   changes_since: datetime | None, changes_before: datetime | None, limit: int | None,
                   marker: str | None) -> list[InstanceAction]:
        async with self.state.db.reader() as s:
            await self._instance(s, ctx, instance_id, with_deleted)
            rows = await q.list_for(s, instance_id, changes_since=changes_since, changes_before=changes_before)
        if marker is not None:
            ids = [r.request_id for r in rows]
            if marker not in ids:
                raise exc.BadRequest(f"Marker {marker} could not be found.")
            rows = rows[ids.index(marker) + 1:]
        return rows[:limit] if limit is not None else rows

    async def show(self, ctx: RequestContext, instance_id: str, request_id: str, *,
                   with_deleted: bool) -> tuple[Any, InstanceAction]:
        async with self.state.db.reader() as s:
            inst = await self._instance(s, ctx, instance_id, with_deleted)
            row = await q.by_request(s, instance_id, request_id)
        if row is None:
            raise exc.NotFound(f"Action for request_id {request_id} on instance {instance_id} not found")
        return inst, row
