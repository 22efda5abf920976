"""Moves in the API process: resize, cold migrate, live migrate, confirm and revert a resize.

Each writes the migration row (status ``pre-migrating`` for resize/migration, ``accepted`` for a
live migration) with the action's task state in one transaction, then casts the conductor
(``move_instance``, ``confirm_move``, ``revert_move``), which schedules, claims and drives the
hosts (``conductor.moves``). A resize to a bigger flavor is checked against the cores and ram
quotas first, as a revert to one is.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.db.base import utcnow
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import Instance, Migration
from nubes.compute.db.queries import flavors as qf
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import migrations as qm
from nubes.compute.db.queries import quotas as qq
from nubes.compute.service import flavors as flavor_service
from nubes.compute.service import server_inputs as inputs
from nubes.compute.service.server_actions import ServerActions
from nubes.compute.service.server_actions_rules import RULES


@dataclass
class LiveRequest:
    host: str | None = None
    block_migration: bool | str = "auto"
    force: bool = False


def flavor_gt(a: dict[str, Any], b: dict[str, Any]) -> dict[str, int]:
    """What ``a`` needs beyond ``b`` (cores, ram), for the quota check of an upsize."""
    return {k: d for k, d in (("cores", int(a["vcpus"]) - int(b["vcpus"])),
                              ("ram", int(a["memory_mb"]) - int(b["memory_mb"]))) if d > 0}


async def check_upsize(state: Any, s: Any, row: Instance, deltas: dict[str, int]) -> None:
    """Nova's ``_check_quota_for_upsize``: 403 when the extra cores/ram do not fit."""
    if not deltas:
        return
    await qq.lock(s, row.project_id)
    for user in (None, row.user_id):
        limits = await state.quotas.limits_in(s, row.project_id, user)
        u = await qi.usage(s, row.project_id, user)
        used = {"cores": u.cores, "ram": u.ram}
        overs = [r for r, d in deltas.items() if limits[r] >= 0 and used[r] + d > limits[r]]
        if overs:
            raise exc.OverQuota(
                f"Quota exceeded for {', '.join(overs)}: Requested {', '.join(str(deltas[r]) for r in overs)}, "
                f"but already used {', '.join(str(used[r]) for r in overs)} of "
                f"{', '.join(str(limits[r]) for r in overs)} {', '.join(overs)}")


async def _flavor_row_id(s: Any, flavorid: str) -> str | None:
    row = await qf.get(s, flavorid)
    return str(row.id) if row is not None else None


class Moves:
    def __init__(self, state: Any, actions: ServerActions) -> None:
        self.state = state
        self.actions = actions

    def _migration(self, row: Instance, kind: str, status: str, old: str | None, new: str | None) -> Migration:
        now = utcnow()
        return Migration(uuid=str(uuid.uuid4()), instance_id=row.id, source_compute=row.host,
                         source_node=row.node, migration_type=kind, status=status, old_flavor_id=old,
                         new_flavor_id=new, project_id=row.project_id, user_id=row.user_id,
                         created_at=now, updated_at=now)

    async def _cold(self, ctx: RequestContext, instance_id: str, name: str,
                    new_ref: str | None, host: str | None, auto_disk_config: bool | None = None) -> None:
        async def prepare(s: Any, row: Instance) -> str:
            if auto_disk_config is not None:
                # A resize's OS-DCF:diskConfig becomes the server's; without one it keeps its own.
                row.auto_disk_config = auto_disk_config
            old = row.flavor
            if new_ref is None:
                new = old
            else:
                try:
                    fl = await flavor_service.visible(s, ctx, new_ref.rstrip("/").rsplit("/", 1)[-1])
                except exc.FlavorNotFound:
                    raise exc.BadRequest("Unable to locate requested flavor.") from None
                new = inputs.flavor_snapshot(fl)
                if new["flavorid"] == old["flavorid"]:
                    raise exc.BadRequest("When resizing, instances must change flavor!")
                if int(new["root_gb"]) < int(old["root_gb"]):
                    raise exc.BadRequest("Resize error: Unable to resize disk down.")
                if fl.disabled:
                    raise exc.BadRequest(f"Flavor {fl.flavorid} is disabled and cannot be used.")
                await check_upsize(self.state, s, row, flavor_gt(new, old))
            if host:
                await self._check_destination(s, row, host)
            old_id = await _flavor_row_id(s, old["flavorid"])
            new_id = old_id if new is old else await _flavor_row_id(s, new["flavorid"])
            m = self._migration(row, "resize" if new_ref else "migration", "pre-migrating", old_id, new_id)
            s.add(m)
            row.old_flavor, row.new_flavor = old, new
            row.system_metadata = {**(row.system_metadata or {}), "old_vm_state": row.vm_state}
            return m.uuid

        args = {"kind": "resize" if new_ref else "migration", "host": host}
        begun = await self.actions.begin(ctx, instance_id, RULES[name], mutate=prepare,
                                         pending=("move_instance", args))
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "move_instance", {
            "instance_id": instance_id, "migration_id": begun.result, "request_id": begun.request_id, **args})

    async def resize(self, ctx: RequestContext, instance_id: str, flavor_ref: str,
                     auto_disk_config: bool | None = None) -> None:
        await self._cold(ctx, instance_id, "resize", flavor_ref, None, auto_disk_config)

    async def migrate(self, ctx: RequestContext, instance_id: str, host: str | None) -> None:
        await self._cold(ctx, instance_id, "migrate", None, host)

    async def _check_destination(self, s: Any, row: Instance, host: str, *, live: bool = False) -> None:
        if not any(n.host == host for n in await qh.nodes(s)):
            raise exc.BadRequest(f"Compute host {host} could not be found.")
        if host == row.host:
            if live:
                raise exc.BadRequest(f"Unable to migrate instance ({row.id}) to current host ({host}).")
            raise exc.BadRequest("Cannot migrate to the host where the server exists.")

    async def live_migrate(self, ctx: RequestContext, instance_id: str, req: LiveRequest) -> None:
        async def prepare(s: Any, row: Instance) -> str:
            if req.host:
                await self._check_destination(s, row, req.host, live=True)
            fid = await _flavor_row_id(s, row.flavor["flavorid"])
            m = self._migration(row, "live-migration", "accepted", fid, fid)
            s.add(m)
            return m.uuid

        args = {"kind": "live-migration", "host": req.host, "force": req.force,
                "block_migration": req.block_migration}
        begun = await self.actions.begin(ctx, instance_id, RULES["os-migrateLive"], mutate=prepare,
                                         pending=("move_instance", args))
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "move_instance", {
            "instance_id": instance_id, "migration_id": begun.result, "request_id": begun.request_id, **args})

    async def _finished(self, s: Any, row: Instance, status: str) -> str:
        found = await qm.of_instance(s, row.id, ["finished"], for_update=True)
        if not found:
            raise exc.BadRequest("Instance has not been resized.")
        m = found[0]
        m.status, m.updated_at = status, utcnow()
        return m.uuid

    async def confirm(self, ctx: RequestContext, instance_id: str) -> None:
        async def confirming(s: Any, row: Instance) -> str:
            return await self._finished(s, row, "confirming")

        begun = await self.actions.begin(ctx, instance_id, RULES["confirmResize"], mutate=confirming)
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "confirm_move", {
            "instance_id": instance_id, "migration_id": begun.result, "request_id": begun.request_id})

    async def revert(self, ctx: RequestContext, instance_id: str) -> None:
        async def reverting(s: Any, row: Instance) -> str:
            if row.old_flavor:
                await check_upsize(self.state, s, row, flavor_gt(row.old_flavor, row.flavor))
            return await self._finished(s, row, "reverting")

        begun = await self.actions.begin(ctx, instance_id, RULES["revertResize"], mutate=reverting)
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "revert_move", {
            "instance_id": instance_id, "migration_id": begun.result, "request_id": begun.request_id})

    # -- reading -------------------------------------------------------------------------------
    async def list(self, ctx: RequestContext, f: qm.MigrationFilters, limit: int | None,
                   marker: str | None) -> list[Migration]:
        async with self.state.db.reader() as s:
            try:
                return await qm.page(s, f, limit=limit, marker=marker)
            except LookupError:
                raise exc.BadRequest(f"Marker {marker} could not be found.") from None

    async def of_server(self, ctx: RequestContext, instance_id: str, migration_id: int | None = None
                        ) -> list[Migration]:
        """The in-progress live migrations of a server (2.23), or one of them."""
        async with self.state.db.reader() as s:
            await self.actions.visible(s, ctx, instance_id)
            if migration_id is None:
                return await qm.page(s, qm.MigrationFilters(instance_id=instance_id, live_in_progress=True),
                                     limit=None, marker=None)
            m = await qm.by_id(s, instance_id, migration_id)
        if m is None:
            raise exc.MigrationNotFound(migration_id, instance_id)
        if m.migration_type != "live-migration" or m.status not in qm.LIVE_IN_PROGRESS:
            raise exc.NotFound(f"In-progress live migration {migration_id} is not found for server {instance_id}.")
        return [m]
