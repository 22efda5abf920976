"""Conductor handlers for shelving and for interfaces: what needs more than ``instance_update``.

- ``shelve_report`` (agent): ``shelved`` (the image is uploaded: SHELVED, with ``shelved_at``,
  ``shelved_image_id`` and ``shelved_host`` in the system metadata, and ``shelving_offloading``
  when the host offloads at once), ``offloaded`` (the guest is gone, the ports unbound: the
  allocation is released and the server has no host: SHELVED_OFFLOADED), ``unshelved`` (ACTIVE
  again, the shelve keys gone), ``unshelve_failed``.
- ``unshelve_instance`` (API): a SHELVED server is powered on by its host; an offloaded one is
  scheduled and claimed again (as a build, in its zone; on the host asked for) and spawned there.
- ``network_info_update`` (agent): an attached or detached port merged into the instance's
  network info under the row's lock, with the action's event.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.compute import exceptions as exc
from nubes.compute import rpc
from nubes.compute.conductor import instances
from nubes.compute.conductor.build import request_spec
from nubes.compute.db.queries import host_states as qh
from nubes.compute.db.queries import instances as qi
from nubes.compute.scheduler import placement
from nubes.compute.service import server_records

LOG = logging.getLogger(__name__)
SHELVE_KEYS = ("shelved_at", "shelved_image_id", "shelved_host")
SHUTDOWN = 4


class ShelveConductor:
    def __init__(self, conductor: Any, mc: Any) -> None:
        self.c = conductor
        self.mc = mc

    async def _event(self, s: Any, row: Any, p: dict, result: str | None, traceback: str | None = None) -> None:
        await self.mc.event(s, row.id, p.get("action"), p.get("request_id"), p.get("event") or "", result,
                            traceback=traceback, host=p.get("host"))

    async def shelve_report(self, p: dict) -> dict[str, Any]:
        step = p.get("step")
        handler = {"shelved": self._shelved, "offloaded": self._offloaded, "unshelved": self._unshelved,
                   "unshelve_failed": self._unshelve_failed}.get(step or "")
        if handler is None:
            raise exc.BadRequest(f"shelve_report: unknown step {step!r}.")
        return {"updated": await handler(p)}

    async def _shelved(self, p: dict) -> bool:
        async with self.c.db.session() as s:
            row = await qi.get(s, p["instance_id"], for_update=True)
            if row is None or row.task_state != "shelving_image_uploading":
                return False
            row.vm_state, row.power_state = "shelved", int(p.get("power_state") or SHUTDOWN)
            row.task_state = "shelving_offloading" if p.get("offload") else None
            row.system_metadata = {**(row.system_metadata or {}), "shelved_at": instances.now().isoformat(),
                                   "shelved_image_id": p.get("image_id") or "", "shelved_host": p.get("host") or ""}
            row.updated_at = instances.now()
            await self._event(s, row, {**p, "event": "compute_shelve_instance"}, "Success")
        return True

    async def _offloaded(self, p: dict) -> bool:
        iid = p["instance_id"]
        async with self.c.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None or row.task_state != "shelving_offloading":
                return False
            row.vm_state, row.task_state, row.power_state = "shelved_offloaded", None, SHUTDOWN
            row.host = row.node = None
            row.updated_at = instances.now()
            await self._event(s, row, p, "Success")
        await placement.release(self.c.clients, iid)
        LOG.info("instance %s shelved and offloaded from %s", iid, p.get("host"))
        return True

    async def _unshelved(self, p: dict) -> bool:
        async with self.c.db.session() as s:
            row = await qi.get(s, p["instance_id"], for_update=True)
            if row is None or row.task_state not in ("unshelving", "spawning"):
                return False
            was_offloaded = row.vm_state == "shelved_offloaded"
            row.vm_state, row.task_state = "active", None
            row.power_state = int(p.get("power_state") or 0)
            if p.get("network_info"):
                row.network_info = p["network_info"]
            if was_offloaded:
                row.launched_at = instances.now()
            row.system_metadata = {k: v for k, v in (row.system_metadata or {}).items() if k not in SHELVE_KEYS}
            row.updated_at = instances.now()
            await self._event(s, row, p, "Success")
        return True

    async def _unshelve_failed(self, p: dict) -> bool:
        iid = p["instance_id"]
        if not p.get("on_host"):
            await placement.release(self.c.clients, iid)
        async with self.c.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None or row.task_state not in ("unshelving", "spawning"):
                return False
            row.task_state = None
            if not p.get("on_host"):
                row.host = row.node = None
            qi.add_fault(s, iid, 500, f"Unshelve failed: {p.get('reason')}", p.get("reason"), p.get("host"))
            row.updated_at = instances.now()
            await self._event(s, row, p, "Error", traceback=p.get("reason"))
        return True

    # -- unshelving ----------------------------------------------------------------------------------
    async def unshelve_instance(self, p: dict) -> None:
        iid, rid = p["instance_id"], p.get("request_id")
        event = "conductor_unshelve_instance"
        async with self.c.db.session() as s:
            row = await qi.get(s, iid)
            if row is None or row.task_state != "unshelving":
                return
            image_id = (row.system_metadata or {}).get("shelved_image_id")
            if row.vm_state == "shelved":
                host, rec = row.host, server_records.record(row)
            else:
                host = None
                await self.mc.event(s, iid, "unshelve", rid, event)
                spec = await request_spec(s, row)
        if host:
            await self._send(host, rec, rid, {"image_id": image_id, "on_host": True})
            return
        spec.ignore_hosts, spec.force_host, spec.force_node, spec.requested_node = [], None, None, None
        spec.requested_host = p.get("host")
        try:
            sel = await self.mc._claim(spec, iid, row)
        except exc.NoValidHost as e:
            async with self.c.db.session() as s:
                row = await qi.get(s, iid, for_update=True)
                if row is not None and row.task_state == "unshelving":
                    row.task_state, row.updated_at = None, instances.now()
                    qi.add_fault(s, iid, 500, e.message, e.message, None)
                    await self.mc.event(s, iid, "unshelve", rid, event, "Error", traceback=e.message)
            return
        async with self.c.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None or row.task_state != "unshelving":
                await placement.release(self.c.clients, iid)
                return
            zones = (await qh.zones_of_hosts(s)).get(sel.host) or {self.c.conf.default_availability_zone}
            row.host, row.node = sel.host, sel.node
            row.availability_zone = (row.request or {}).get("availability_zone") or min(zones)
            row.updated_at = instances.now()
            await self.mc.event(s, iid, "unshelve", rid, event, "Success")
            rec = server_records.record(row)
        await self._send(sel.host, rec, rid, {"image_id": image_id, "on_host": False, "node": sel.node})

    async def _send(self, host: str, rec: dict[str, Any], rid: str | None, args: dict[str, Any]) -> None:
        await self.c.bus.cast(rpc.agent_topic(host), "instance_action", {
            "instance_id": rec["id"], "action": "unshelve", "request_id": rid, "args": args, "instance": rec})

    # -- interfaces ------------------------------------------------------------------------------------
    async def network_info_update(self, p: dict) -> dict[str, Any]:
        add, remove = list(p.get("add") or []), set(p.get("remove") or [])
        async with self.c.db.session() as s:
            row = await qi.get(s, p["instance_id"], for_update=True)
            if row is None:
                return {"updated": False}
            if add or remove:
                ids = {v["id"] for v in add}
                row.network_info = [v for v in row.network_info or [] if v.get("id") not in remove | ids] + add
                row.updated_at = instances.now()
            ev = p.get("action_event") or {}
            if ev.get("event"):
                await self.mc.event(s, row.id, ev.get("action"), ev.get("request_id"), ev["event"], ev.get("result"),
                                    traceback=ev.get("traceback"), host=ev.get("host"))
            return {"updated": True, "network_info": row.network_info}


def handlers(conductor: Any, mc: Any) -> dict[str, Any]:
    sc = ShelveConductor(conductor, mc)
    return {"shelve_report": sc.shelve_report, "unshelve_instance": sc.unshelve_instance,
            "network_info_update": sc.network_info_update}
