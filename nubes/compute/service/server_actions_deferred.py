"""Soft delete, as Nova's ``reclaim_instance_interval`` makes it: with the interval above 0, a
``DELETE /servers/{id}`` of a launched server on a live host powers the guest off and keeps it
(SOFT_DELETED, still counted in the quotas) until the conductor reclaims it ``reclaim_instance_interval``
seconds later (``conductor.reclaim``), unless ``restore`` brings it back first or ``forceDelete``
deletes it now. A server soft delete does not fit (never launched, a task under way, no live host,
in a move) is deleted at once, as Nova falls back to a delete."""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute.db.models import Instance
from nubes.compute.service.server_actions_rules import RULES

LOG = logging.getLogger(__name__)


class DeferredDelete:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    @property
    def enabled(self) -> bool:
        return float(self.state.conf.reclaim_instance_interval) > 0

    async def soft_delete(self, ctx: RequestContext, instance_id: str, host_up: Any) -> bool:
        """Soft-delete the server when it fits; whether it did (else the caller deletes it)."""
        async def stamp(s: Any, row: Instance) -> None:
            if not await host_up(s, row.host):
                raise exc.InstanceNotReady(row.id)
            row.deleted_at = utcnow()

        try:
            begun = await self.actions.begin(ctx, instance_id, RULES["soft_delete"], mutate=stamp,
                                             pending=("soft_delete", {}))
        except (exc.InstanceInvalidState, exc.InstanceInvalidStateFor, exc.InstanceNotReady):
            return False
        await self.actions.to_host(begun, "soft_delete")
        LOG.info("server %s soft-deleted by project %s", instance_id, ctx.project_id)
        return True

    async def restore(self, ctx: RequestContext, instance_id: str) -> None:
        async def undelete(s: Any, row: Instance) -> None:
            row.deleted_at = None

        begun = await self.actions.begin(ctx, instance_id, RULES["restore"], mutate=undelete,
                                         pending=("restore", {}))
        await self.actions.to_host(begun, "restore")
