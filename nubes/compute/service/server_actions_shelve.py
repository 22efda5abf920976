"""Shelve, shelveOffload and unshelve, as Nova does them.

shelve: the API creates the ``<name>-shelved`` image record (``snapshots``); the host powers the
guest off, snapshots and uploads it; the server is SHELVED — and at once offloaded when
``shelved_offload_time`` is 0 (Nova's default): the guest is removed from the host, its ports
are unbound (they stay the server's) and its placement allocation goes; SHELVED_OFFLOADED has
no host. unshelve: on its host a SHELVED server is powered on again; an offloaded one is
scheduled again by the conductor (in its zone, or the one asked for from 2.77; on a chosen host
from 2.91, admins only), claimed and spawned from the shelved image, which is removed after.
"""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.db.models import Instance
from nubes.compute.db.queries import host_states as qh
from nubes.compute.service import server_inputs as inputs
from nubes.compute.service import snapshots
from nubes.compute.service.server_actions import ServerActions
from nubes.compute.service.server_actions_rules import RULES, SHELVED_OFFLOADED, check

UNSET: Any = object()


class Shelving:
    def __init__(self, state: Any, actions: ServerActions) -> None:
        self.state = state
        self.actions = actions

    async def shelve(self, ctx: RequestContext, instance_id: str) -> None:
        rule = RULES["shelve"]
        row = await self.actions.precheck(ctx, instance_id, rule)
        clients = self.state.rt.clients
        image_id = await snapshots.create_image(
            clients, ctx, snapshots.image_record(row, ctx, f"{row.display_name}-shelved", "snapshot"))
        offload_time = int(self.state.conf.shelved_offload_time)
        args = {"image_id": image_id, "offload_time": offload_time}
        try:
            begun = await self.actions.begin(ctx, instance_id, rule, pending=("shelve", args))
        except BaseException:
            await snapshots.delete_image(clients, image_id)
            raise
        await self.actions.to_host(begun, "shelve", args)

    async def shelve_offload(self, ctx: RequestContext, instance_id: str) -> None:
        begun = await self.actions.begin(ctx, instance_id, RULES["shelveOffload"], pending=("shelve_offload", {}))
        await self.actions.to_host(begun, "shelve_offload")

    async def unshelve(self, ctx: RequestContext, instance_id: str, *, zone: Any = UNSET,
                       host: str | None = None) -> None:
        """``zone``: UNSET keeps the server's zone; None (2.91) unpins it; a name moves it there."""
        rule = RULES["unshelve"]
        async with self.state.db.reader() as s:
            row = await self.actions.visible(s, ctx, instance_id)
            check(row, rule, lock_exempt=ctx.is_admin)
            if (host or zone is not UNSET) and row.vm_state != SHELVED_OFFLOADED:
                raise exc.UnshelveInstanceInvalidState(row.id, row.vm_state)
            if zone is not UNSET and zone is not None and zone not in await inputs.available_zones(
                    s, self.state.conf):
                raise exc.BadRequest("The requested availability zone is not available")
            if host:
                await self._check_host(s, host, zone)

        async def retarget(s: Any, row: Instance) -> None:
            if zone is UNSET:
                return
            req = dict(row.request or {})
            req["availability_zone"] = zone
            req["pinned_availability_zone"] = zone
            row.request = req
            if zone is not None:
                row.availability_zone = zone

        begun = await self.actions.begin(ctx, instance_id, rule, mutate=retarget,
                                         pending=("unshelve", {"host": host}))
        await self.state.bus.cast(rpc.CONDUCTOR_TOPIC, "unshelve_instance", {
            "instance_id": instance_id, "request_id": begun.request_id, "host": host})

    async def _check_host(self, s: Any, host: str, zone: Any) -> None:
        if not any(n.host == host for n in await qh.nodes(s)):
            raise exc.BadRequest(f"Compute host {host} could not be found.")
        if isinstance(zone, str):
            zones = (await qh.zones_of_hosts(s)).get(host) or {self.state.conf.default_availability_zone}
            if zone not in zones:
                raise exc.BadRequest(f"Host '{host}' is not in availability zone '{zone}'.")
