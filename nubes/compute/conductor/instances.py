"""Conductor handlers through which hosts change instances, and the end of an instance:

- ``instance_update``: a host's report of a state change (refused when the task state is no
  longer the expected one: a delete that started meanwhile wins), with an action event;
- ``instance_destroyed``: the host removed the guest and its ports; allocations go, the row
  is marked deleted;
- ``delete_instance``: an instance with no (live) host: ports and allocations removed here;
- ``watch_builds``: builds stuck past ``build_timeout`` go to ERROR, so an agent that dies
  mid-build never leaves a server in BUILD.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import datetime, timedelta
from typing import Any

from nubes.core.db.base import utcnow
from nubes.core.exceptions import BadRequest
from nubes.compute.db.queries import actions as qa
from nubes.compute.db.queries import instances as qi
from nubes.compute.db.queries import server_groups as qg
from nubes.compute.conductor import build_volumes
from nubes.compute.scheduler import placement
from nubes.compute.service import pending, server_ports, server_records, server_volumes
from nubes.compute.service.servers_notify import Notifier

LOG = logging.getLogger(__name__)
UPDATABLE = {"vm_state", "task_state", "power_state", "host", "node", "launched_at", "terminated_at",
             "network_info", "progress", "access_ip_v4", "access_ip_v6", "root_device_name", "security_groups"}
TIMES = {"launched_at", "terminated_at"}


def now() -> datetime:
    return utcnow()


def controller(conf: Any) -> str:
    return conf.host or socket.gethostname()


def _parse_time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


async def set_error(c: Any, iid: str, code: int, message: str, details: str | None, *,
                    event: str | None = None, host: str | None = None) -> None:
    """ERROR with a fault (its message is what users see), the action's event failed."""
    async with c.db.session() as s:
        row = await qi.get(s, iid, for_update=True)
        if row is None:
            return
        row.vm_state, row.task_state = "error", None
        row.updated_at = now()
        req = dict(row.request or {})
        req.pop("admin_password", None)
        req.pop(pending.KEY, None)
        row.request = req
        qi.add_fault(s, iid, code, message, details, host or row.host)
        action = await qa.latest(s, iid, "create")
        if action is not None and event:
            qa.event_finish(action, event, host or controller(c.conf), "Error", traceback=details)
        elif action is not None:
            action.message = "Error"
    await placement.release(c.clients, iid)
    await Notifier(c.bus).publish("create", "error", row, message=message)


async def _release_volumes(c: Any, iid: str) -> None:
    await server_volumes.release(c.clients, c.db, iid)


async def _mark_deleted(c: Any, iid: str, *, host: str | None, event: str) -> None:
    async with c.db.session() as s:
        row = await qi.get(s, iid, for_update=True)
        if row is None:
            return
        t = now()
        row.vm_state, row.task_state, row.power_state = "deleted", None, 0
        row.deleted, row.deleted_at, row.terminated_at, row.updated_at = True, t, t, t
        req = dict(row.request or {})
        req.pop("admin_password", None)
        req.pop(pending.KEY, None)
        row.request = req
        await qg.remove_member(s, iid)
        action = await qa.latest(s, iid, "delete")
        if action is not None:
            qa.event_finish(action, event, host or controller(c.conf), "Success")
            action.finish_time = t
    LOG.info("instance %s deleted", iid)
    await Notifier(c.bus).publish("delete", "end", row)


def _expected(row: Any, payload: dict) -> bool:
    """Whether the row is as the reporter expects: ``expected_task_state`` (a value or a list),
    ``expected_vm_state`` (likewise) and ``expected_host`` (a build or move reported by a host
    the instance has left — rescheduled meanwhile — must change nothing)."""
    for key, have in (("expected_task_state", row.task_state), ("expected_vm_state", row.vm_state),
                      ("expected_host", row.host)):
        if key in payload:
            wanted = payload[key]
            if have not in (wanted if isinstance(wanted, list) else [wanted]):
                return False
    return True


def handlers(c: Any) -> dict[str, Any]:
    async def instance_update(payload: dict) -> dict[str, Any]:
        iid = payload.get("instance_id")
        updates = payload.get("updates") or {}
        if not iid or not isinstance(updates, dict):
            raise BadRequest("instance_update needs an instance_id and an updates dict.")
        unknown = sorted(set(updates) - UPDATABLE)
        if unknown:
            raise BadRequest(f"instance_update cannot change {', '.join(unknown)}.")
        async with c.db.session() as s:
            row = await qi.get(s, iid, for_update=True)
            if row is None:
                return {"updated": False, "gone": True}
            if not _expected(row, payload):
                # What it is now, so the reporter can tell a duplicate of its own work (the task went
                # on) from an action that lost (deleted, or another task).
                return {"updated": False, "gone": False, "vm_state": row.vm_state, "task_state": row.task_state,
                        "host": row.host}
            was = row.vm_state
            for key, value in updates.items():
                setattr(row, key, _parse_time(value) if key in TIMES else value)
            row.updated_at = now()
            if "task_state" in updates and updates["task_state"] is None:
                pending.forget(row)            # the task is over: its arguments (passwords) go
            if row.vm_state != "building" and "admin_password" in (row.request or {}):
                req = dict(row.request)
                req.pop("admin_password")
                row.request = req
            ev = payload.get("action_event")
            if isinstance(ev, dict) and ev.get("event"):
                action = await qa.latest(s, iid, ev.get("action"), ev.get("request_id"))
                if action is not None:
                    if ev.get("result") is None:
                        qa.event_start(action, ev["event"], ev.get("host"))
                    else:
                        qa.event_finish(action, ev["event"], ev.get("host"), ev["result"],
                                        ev.get("traceback"), ev.get("details"))
        if was == "building" and row.vm_state == "active":
            LOG.info("instance %s is active on %s", iid, row.host)
            await build_volumes.complete(c, iid)
            await Notifier(c.bus).publish("create", "end", row)
        return {"updated": True}

    async def instance_destroyed(payload: dict) -> None:
        iid = payload["instance_id"]
        await _release_volumes(c, iid)
        await placement.release(c.clients, iid)
        await _mark_deleted(c, iid, host=payload.get("host"), event="compute_terminate_instance")

    async def delete_instance(payload: dict) -> None:
        iid = payload["instance_id"]
        async with c.db.reader() as s:
            row = await qi.get(s, iid)
            if row is None:
                return
            rec = server_records.record(row)
        await server_ports.unplug(c.clients, iid, keep=server_ports.preserved(rec))
        await _release_volumes(c, iid)
        await placement.release(c.clients, iid)
        await _mark_deleted(c, iid, host=None, event="conductor_delete_instance")

    return {"instance_update": instance_update, "instance_destroyed": instance_destroyed,
            "delete_instance": delete_instance}


async def check_builds(c: Any) -> int:
    """ERROR for every build older than ``build_timeout`` (from its last change); returns how many."""
    timeout = float(c.conf.build_timeout)
    async with c.db.reader() as s:
        stale = await qi.stale_builds(s, now() - timedelta(seconds=timeout))
    for row in stale:
        where = f"on host {row.host}" if row.host else "while it was being scheduled"
        msg = (f"Build of instance {row.id} timed out after {int(timeout)} seconds {where}: the build did "
               "not report back (is the compute service of that host running?).")
        LOG.warning("%s", msg)
        await set_error(c, row.id, 500, msg, msg, event="compute_build_and_run_instance" if row.host else None)
    return len(stale)


async def watch_builds(c: Any) -> None:
    interval = max(1.0, min(30.0, float(c.conf.build_timeout) / 4))
    failing = False
    while True:
        await asyncio.sleep(interval)
        try:
            await check_builds(c)
            failing = False
        except asyncio.CancelledError:
            raise
        except Exception:       # a periodic reconcile: log once per failure streak, go on
            if not failing:
                LOG.exception("checking for stuck builds failed; retrying every %.0fs", interval)
            failing = True
