"""The password a guest posts to the metadata API (encrypted with its key pair's public key, by
cloud-init or cloudbase-init), as ``os-server-password`` shows and clears it. It lives in the
instance's system metadata under ``password``, where the metadata API writes it."""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext


class ServerPassword:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    async def show(self, ctx: RequestContext, instance_id: str) -> str:
        async with self.state.db.reader() as s:
            row = await self.actions.visible(s, ctx, instance_id)
            return str((row.system_metadata or {}).get("password") or "")

    async def clear(self, ctx: RequestContext, instance_id: str) -> None:
        async with self.state.db.session() as s:
            row = await self.actions.visible(s, ctx, instance_id, for_update=True)
            sysmeta = dict(row.system_metadata or {})
            if sysmeta.pop("password", None) is not None:
                row.system_metadata = sysmeta
