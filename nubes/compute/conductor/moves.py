"""Conductor handlers that drive moves: resize, cold and live migration, confirm and revert.

``move_instance`` (from the API, the migration row written): the source's allocation goes to the
migration, the scheduler picks a destination (the new flavor for a resize; never the source,
unless a resize and ``allow_resize_to_same_host``; the requested host when one is given — a
live migration's ``force`` skips the filters), it is claimed for the instance, and the source
gets ``move_out``. Each host reports its step (``move_report``, ``moves_steps``): the source's
guest is ready to leave (``migrated``) → the destination builds it (``move_in``, ``finished``)
→ a cold move waits in VERIFY_RESIZE, a live one is completed and the source copy removed.
``confirm_move`` has the source remove its copy; ``revert_move`` has the destination remove its
copy, then the source bring the guest back. Any failure hands the allocation back and leaves
the server where it was.

The handlers also complete the instance handlers' deletes: a server deleted during a move (or
in VERIFY_RESIZE) loses the migration's allocation and the other host's copy too, and an
offloaded server its shelved image.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.conductor import instances
from nubes.compute.conductor.build import request_spec
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import migrations as qm
from nubes.compute.scheduler import placement
from nubes.compute.scheduler.select import select
from nubes.compute.scheduler.spec import resources_of
from nubes.compute.service import moves_allocations as allocs
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)
# kind -> (the task state it runs under, the instance action, the conductor's event)
KINDS = {"resize": ("resize_prep", "resize", "conductor_migrate_server"),
         "migration": ("resize_prep", "migrate", "conductor_migrate_server"),
         "live-migration": ("migrating", "live-migration", "conductor_live_migrate_instance")}


def migration_dict(m: Any) -> dict[str, Any]:
    return {"id": m.uuid, "kind": m.migration_type, "status": m.status, "source_compute": m.source_compute,
            "dest_compute": m.dest_compute, "source_node": m.source_node, "dest_node": m.dest_node}


def record(row: Any, flavor: dict[str, Any] | None = None) -> dict[str, Any]:
    """The instance's record, with ``flavor`` as its flavor (the one it has on the other host)."""
    rec = server_records.record(row)
    if flavor:
        rec.update(flavor=flavor, vcpus=flavor["vcpus"], memory_mb=flavor["memory_mb"], root_gb=flavor["root_gb"],
                   ephemeral_gb=flavor["ephemeral_gb"])
    return rec


class MoveConductor:
    def __init__(self, conductor: Any) -> None:
        self.c = conductor
        self.conf = conductor.conf

    @property
    def host(self) -> str:
        return instances.controller(self.conf)

    async def event(self, s: Any, iid: str, action: str | None, request_id: str | None, event: str,
                    result: str | None = None, traceback: str | None = None, host: str | None = None) -> None:
        act = await qa.latest(s, iid, action, request_id)
        if act is None:
            return
        if result is None:
            qa.event_start(act, event, host or self.host)
        else:
            qa.event_finish(act, event, host or self.host, result, traceback=traceback)

    async def cast(self, host: str, method: str, payload: dict[str, Any]) -> None:
        await self.c.bus.cast(rpc.agent_topic(host), method, payload)

    # -- starting a move -------------------------------------------------------------------------
    async def move_instance(self, payload: dict) -> None:
        iid, mid, kind = payload["instance_id"], payload["migration_id"], payload.get("kind", "migration")
        task, action, event = KINDS[kind]
        rid = payload.get("request_id")
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid), await qm.get(s, mid, for_update=True)
            if row is None or m is None or m.dest_compute or m.status not in ("pre-migrating", "accepted"):
                return                      # gone, or this message came twice
            if row.task_state != task:
                m.status, m.updated_at = "error", instances.now()
                return
            await self.event(s, iid, action, rid, event)
            spec = await request_spec(s, row)
        flavor = (row.new_flavor or row.flavor) if kind == "resize" else row.flavor
        spec.resources, spec.required_traits, spec.forbidden_traits = resources_of(flavor)
        spec.extra_specs = dict(flavor.get("extra_specs") or {})
        same_host = kind == "resize" and self.conf.allow_resize_to_same_host
        spec.ignore_hosts = [] if same_host else [m.source_compute]
        spec.force_host = spec.force_node = spec.requested_node = None
        spec.requested_host = payload.get("host")
        if payload.get("force") and payload.get("host"):
            spec.force_host, spec.requested_host = payload["host"], None
        # Once only: a move sent again (recovery, a message seen twice) after its first run handed the
        # source's allocation over and maybe claimed a destination must not hand that claim over too.
        if not await allocs.allocations(self.c.clients, mid):
            await allocs.hand_over(self.c.clients, iid, mid, row.project_id, row.user_id)
        try:
            chosen = await self._claim(spec, iid, row)
        except exc.NoValidHost as e:
            LOG.info("no destination for %s of %s: %s", kind, iid, e.message)
            await self.fail(iid, mid, action, e.message, event=event)
            return
        await self._start(iid, mid, kind, chosen, payload)

    async def _claim(self, spec: Any, iid: str, row: Any) -> Any:
        for sel in await select(self.c.db, self.c.clients, self.conf, spec):
            if await placement.claim(self.c.clients, iid, placement.Candidate(sel.uuid, sel.allocations),
                                     row.project_id, row.user_id):
                return sel
        raise exc.NoValidHost("The hosts that fit were taken by other servers meanwhile; try again.")

    async def _start(self, iid: str, mid: str, kind: str, sel: Any, payload: dict) -> None:
        task, action, event = KINDS[kind]
        async with self.c.db.session() as s:
            row, m = await qi.get(s, iid, for_update=True), await qm.get(s, mid, for_update=True)
            if row is None or m is None or row.task_state != task:
                moved = None
            else:
                node = next((n for n in await qh.nodes(s) if n.hypervisor_hostname == sel.node), None)
                m.dest_compute, m.dest_node = sel.host, sel.node
                m.dest_host = node.host_ip if node is not None else None
                m.status, m.updated_at = ("preparing" if kind == "live-migration" else "migrating"), instances.now()
                await self.event(s, iid, action, payload.get("request_id"), event, "Success")
                moved = {"instance_id": iid, "migration": migration_dict(m), "instance": record(row),
                         "request_id": payload.get("request_id"), "action": action,
                         "block_migration": payload.get("block_migration")}
        if moved is None:                   # deleted (or changed) while it was scheduled
            await self.fail(iid, mid, action, "The server changed while its move was scheduled.")
            return
        LOG.info("%s of %s: %s -> %s", kind, iid, moved["migration"]["source_compute"], sel.host)
        await self.cast(moved["migration"]["source_compute"], "move_out", moved)

    async def fail(self, iid: str, mid: str, action: str, reason: str, *, event: str | None = None,
                   host: str | None = None) -> None:
        """The move is over, failed: the allocation goes back to the instance, which stays where it is
        (its task state cleared, a fault saying why), the migration is ``error``."""
        async with self.c.db.reader() as s:
            row = await qi.get(s, iid, deleted=None)
        if row is not None:
            try:
                if not await allocs.hand_over(self.c.clients, mid, iid, row.project_id, row.user_id):
                    LOG.debug("move %s of %s: the migration held no allocation", mid, iid)
            except Exception:    # placement must not keep the instance's state from being restored
                LOG.exception("handing the allocation of move %s back to %s failed", mid, iid)
        async with self.c.db.session() as s:
            m = await qm.get(s, mid, for_update=True)
            if m is not None:
                m.status, m.updated_at = "error", instances.now()
            row = await qi.get(s, iid, for_update=True)
            if row is None or row.task_state == "deleting":
                return
            if event:
                await self.event(s, iid, action, None, event, "Error", traceback=reason, host=host)
            row.task_state = None
            row.new_flavor = None
            row.updated_at = instances.now()
            qi.add_fault(s, iid, 500, reason, reason, host or row.host)

    # -- confirm and revert -------------------------------------------------------------------------
    async def confirm_move(self, payload: dict) -> None:
        async with self.c.db.reader() as s:
            row, m = await qi.get(s, payload["instance_id"]), await qm.get(s, payload["migration_id"])
            if row is None or m is None or m.status != "confirming":
                return
            msg = {"instance_id": row.id, "migration": migration_dict(m), "instance": record(row, row.old_flavor),
                   "request_id": payload.get("request_id"), "action": "confirmResize",
                   "event": "compute_confirm_resize", "report": True}
        await self.cast(m.source_compute, "move_cleanup", msg)

    async def revert_move(self, payload: dict) -> None:
        async with self.c.db.reader() as s:
            row, m = await qi.get(s, payload["instance_id"]), await qm.get(s, payload["migration_id"])
            if row is None or m is None or m.status != "reverting":
                return
            msg = {"instance_id": row.id, "migration": migration_dict(m), "instance": record(row),
                   "request_id": payload.get("request_id"), "action": "revertResize",
                   "event": "compute_revert_resize", "report": True}
        await self.cast(m.dest_compute, "move_abort", msg)

    # -- deletes -----------------------------------------------------------------------------------
    async def after_delete(self, iid: str, host: str | None) -> None:
        """A deleted instance's moves end: their allocations go, the other hosts remove their copies."""
        async with self.c.db.session() as s:
            row = await qi.get(s, iid, deleted=None)
            moves = await qm.unfinished(s, iid)
            shelved_image = (row.system_metadata or {}).get("shelved_image_id") if row is not None else None
            cleanups = []
            for m in moves:
                m.status, m.updated_at = "error", instances.now()
                cleanups.append(migration_dict(m))
        for m in cleanups:
            await allocs.release(self.c.clients, m["id"])
            msg = {"instance_id": iid, "migration": m, "instance": {"id": iid}, "report": False}
            if m["source_compute"] and m["source_compute"] != host:
                await self.cast(m["source_compute"], "move_cleanup", msg)
            if m["dest_compute"] and m["dest_compute"] not in (host, m["source_compute"]):
                await self.cast(m["dest_compute"], "move_abort", msg)
        if shelved_image:
            r = await self.c.clients.request("image", "DELETE", f"/v2/images/{shelved_image}")
            if r.status_code not in (204, 404):
                LOG.warning("removing shelved image %s of %s: %s", shelved_image, iid, r.status_code)


def extend(conductor: Any, table: dict[str, Any]) -> dict[str, Any]:
    """``table`` (the conductor's other handlers) with the move, shelve and interface handlers added,
    and its ``instance_destroyed``/``delete_instance`` followed by ``after_delete``."""
    from nubes.compute.conductor import moves_steps, shelving

    mc = MoveConductor(conductor)
    base_destroyed, base_delete = table["instance_destroyed"], table["delete_instance"]

    async def instance_destroyed(payload: dict) -> None:
        await base_destroyed(payload)
        await mc.after_delete(payload["instance_id"], payload.get("host"))

    async def delete_instance(payload: dict) -> None:
        await base_delete(payload)
        await mc.after_delete(payload["instance_id"], None)

    return {**table, "move_instance": mc.move_instance, "confirm_move": mc.confirm_move,
            "revert_move": mc.revert_move, "move_report": moves_steps.Steps(mc).move_report,
            "instance_destroyed": instance_destroyed, "delete_instance": delete_instance,
            **shelving.handlers(conductor, mc)}
