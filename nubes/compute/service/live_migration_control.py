"""Managing a live migration under way, as Nova's server migrations API: force it to complete
(2.22, ``POST /servers/{id}/migrations/{id}/action {"force_complete": null}``) and abort it (2.24,
``DELETE /servers/{id}/migrations/{id}``; a queued or preparing one too from 2.65).

Both check what Nova checks (the lock; the server ACTIVE, or any vm_state for an abort, in task
``migrating``; the migration a live migration of that server, else 400/404; its status) and
record their instance action (``live_migration_force_complete``, ``live_migration_cancel``).

Force-complete asks the source's driver to finish without waiting for the guest's memory to
converge; nubes' drivers never wait for that (the guest's state is handed over in one step), so
the driver has nothing to speed up and the migration ends as it would have. An abort marks the
migration ``cancelled`` at once (so the steps still under way stop there), then the conductor has
the destination remove any copy it made and the source take the guest back; when the source
reports, the allocation returns to the server and its task is cleared.
"""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import Instance
from nubes.compute.db.queries import migrations as qm
from nubes.compute.service.server_actions_rules import Rule


def _invalid(m: Any, instance_id: str, method: str) -> exc.BadRequest:
    return exc.BadRequest(f"Migration {m.id} state of instance {instance_id} is {m.status}. Cannot {method} "
                          "while the migration is in this state.")


class LiveMigrationControl:
    def __init__(self, state: Any, actions: Any) -> None:
        self.state = state
        self.actions = actions

    async def _migration(self, s: Any, instance_id: str, migration_id: int, *, missing: type) -> Any:
        m = await qm.by_id(s, instance_id, migration_id)
        if m is None or m.migration_type != "live-migration":
            if missing is exc.BadRequest:
                raise exc.BadRequest(f"Instance {instance_id} does not have a live migration with id "
                                     f"{migration_id}.")
            raise exc.MigrationNotFound(migration_id, instance_id)
        return m

    async def force_complete(self, ctx: RequestContext, instance_id: str, migration_id: int) -> None:
        async def check(s: Any, row: Instance) -> Any:
            m = await self._migration(s, instance_id, migration_id, missing=exc.BadRequest)
            if m.status != "running":
                raise _invalid(m, instance_id, "force complete")
            return m.source_compute

        rule = Rule("force_complete", ("active",), ("migrating",), task_state="migrating",
                    instance_action="live_migration_force_complete")
        begun = await self.actions.begin(ctx, instance_id, rule, mutate=check)
        await self.state.bus.cast(rpc.agent_topic(begun.result), "live_migration_force_complete", {
            "instance_id": instance_id, "instance": begun.record, "request_id": begun.request_id})

    async def abort(self, ctx: RequestContext, instance_id: str, migration_id: int) -> None:
        allowed = ("queued", "preparing", "running") if ctx.api_version >= (2, 65) else ("running",)

        async def cancel(s: Any, row: Instance) -> dict[str, Any]:
            m = await self._migration(s, instance_id, migration_id, missing=exc.NotFound)
            if m.status not in allowed:
                raise _invalid(m, instance_id, "abort live migration")
            was, m.status, m.updated_at = m.status, "cancelled", utcnow()
            return {"migration_id": m.uuid, "was": was}

        rule = Rule("live_migration_abort", None, ("migrating",), task_state="migrating",
                    instance_action="live_migration_cancel", must_have_launched=False)
        begun = await self.actions.begin(ctx, instance_id, rule, mutate=cancel)
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "abort_live_migration", {
            "instance_id": instance_id, "request_id": begun.request_id, **begun.result})
