"""Agent handlers for server actions (``instance_action``, ``attach_interface``) and moves.

The API set the action's task state and recorded the action; here the host starts its event
(``instance_update`` with the expected task state: an action that lost to a delete stops
there), calls the driver, and reports the end state with the event's result. A failed driver
call reverts the task state (the vm_state stays; a failed rebuild is ERROR, as in Nova) and
records the driver's message as the event's traceback. ``compute.instance.<action>.start/end``
events are published around the driver calls. Images (snapshot, shelve, unshelve) are in
``actions_images``, moves in ``actions_moves``, interfaces in ``actions_ports``, volumes in
``actions_volumes``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from nubes.compute import rpc
from nubes.compute.drivers.base import DriverError, PowerState
from nubes.core.db.base import utcnow
from nubes.core.exceptions import CloudError

LOG = logging.getLogger(__name__)


@dataclass
class Job:
    """One action on one instance: its record, the API request and the instance action's name."""

    rec: dict[str, Any]
    request_id: str | None
    action: str
    args: dict[str, Any]

    @property
    def id(self) -> str:
        return self.rec["id"]


@dataclass(frozen=True)
class Step:
    task: str            # the task state the API set
    event: str           # the instance action event
    notify: str          # compute.instance.<notify>.start/end
    final: str           # the vm_state after it
    action: str          # the os-instance-actions name


SIMPLE: dict[str, Step] = {
    "start": Step("powering-on", "compute_start_instance", "power_on", "active", "start"),
    "stop": Step("powering-off", "compute_stop_instance", "power_off", "stopped", "stop"),
    "reboot": Step("rebooting", "compute_reboot_instance", "reboot", "active", "reboot"),
    "pause": Step("pausing", "compute_pause_instance", "pause", "paused", "pause"),
    "unpause": Step("unpausing", "compute_unpause_instance", "unpause", "active", "unpause"),
    "suspend": Step("suspending", "compute_suspend_instance", "suspend", "suspended", "suspend"),
    "resume": Step("resuming", "compute_resume_instance", "resume", "active", "resume"),
    "rescue": Step("rescuing", "compute_rescue_instance", "rescue", "rescued", "rescue"),
    "unrescue": Step("unrescuing", "compute_unrescue_instance", "unrescue", "active", "unrescue"),
    # soft delete (reclaim_instance_interval > 0): the guest is powered off and kept until reclaimed
    "soft_delete": Step("soft-deleting", "compute_soft_delete_instance", "soft_delete", "soft-delete", "delete"),
    "restore": Step("restoring", "compute_restore_instance", "restore", "active", "restore"),
}
# The driver call of the simple actions not named after one.
DRIVER_CALLS = {"start": "power_on", "stop": "power_off", "soft_delete": "power_off", "restore": "power_on"}


def lost_to_delete(reply: dict[str, Any]) -> bool:
    """Whether a refused ``instance_update`` means the instance is gone or being deleted (what an
    action that lost should clean up after), rather than a copy of a message whose work went on."""
    return bool(reply.get("gone")) or reply.get("task_state") == "deleting" or "task_state" not in reply


def notification(rec: dict[str, Any], host: str, **extra: Any) -> dict[str, Any]:
    fl = rec.get("flavor") or {}
    return {"instance_id": rec["id"], "project_id": rec.get("project_id"), "user_id": rec.get("user_id"),
            "display_name": rec.get("display_name"), "host": host, "node": rec.get("node"),
            "availability_zone": rec.get("availability_zone"),
            "flavor": {k: fl.get(k) for k in ("flavorid", "name", "vcpus", "memory_mb", "root_gb", "ephemeral_gb",
                                              "swap")},
            "image_ref": rec.get("image_ref"), "state": rec.get("vm_state"), "task_state": rec.get("task_state"),
            "launched_at": rec.get("launched_at"), "timestamp": utcnow().isoformat(), **extra}


class Actions:
    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.handlers: dict[str, Any] = {name: self._simple for name in SIMPLE}
        self.handlers["rebuild"] = self.rebuild

    @property
    def clients(self) -> Any:
        return self.agent.rt.clients

    @property
    def driver(self) -> Any:
        return self.agent.driver

    # -- talking to the conductor and to telemetry ------------------------------------------------
    async def update(self, job: Job, expected: Any, updates: dict[str, Any], event: str | None = None, *,
                     result: str | None = None, traceback: str | None = None, **expect: Any) -> bool:
        reply = await self.update_reply(job, expected, updates, event, result=result, traceback=traceback, **expect)
        return bool(reply.get("updated"))

    async def update_reply(self, job: Job, expected: Any, updates: dict[str, Any], event: str | None = None, *,
                           result: str | None = None, traceback: str | None = None, **expect: Any) -> dict[str, Any]:
        """``update``, answering the conductor's reply: when refused, the instance's vm_state,
        task_state and host now (``gone`` when it no longer exists)."""
        payload: dict[str, Any] = {"instance_id": job.id, "updates": updates, **expect}
        if expected is not ...:
            payload["expected_task_state"] = expected
        if event:
            ev: dict[str, Any] = {"event": event, "action": job.action, "host": self.agent.host}
            if job.request_id:
                ev["request_id"] = job.request_id
            if result is not None:
                ev.update(result=result, traceback=traceback)
            payload["action_event"] = ev
        reply = await self.agent.call_conductor("instance_update", payload)
        return reply if isinstance(reply, dict) else {"updated": bool(reply)}

    async def notify(self, what: str, phase: str, rec: dict[str, Any], **extra: Any) -> None:
        try:
            await self.agent.bus.publish(rpc.event_type(what, phase), notification(rec, self.agent.host, **extra))
        except CloudError:      # telemetry never fails the action it reports
            LOG.warning("could not publish %s", rpc.event_type(what, phase), exc_info=True)

    async def power(self, iid: str) -> int:
        try:
            return int((await self.driver.get_info(iid)).power_state)
        except DriverError:
            return int(PowerState.NOSTATE)

    # -- the dispatcher ---------------------------------------------------------------------------
    async def instance_action(self, payload: dict) -> None:
        action = payload.get("action")
        handler = self.handlers.get(action)
        if handler is None or not isinstance(payload.get("instance"), dict):
            LOG.error("instance_action %r for %s: unknown action or no instance record", action,
                      payload.get("instance_id"))
            return
        job = Job(dict(payload["instance"]), payload.get("request_id"), action, dict(payload.get("args") or {}))
        async with self.locks[job.id]:
            await handler(job)

    # -- power and lifecycle ----------------------------------------------------------------------
    async def _call(self, job: Job, key: str | None = None) -> None:
        d, rec, args = self.driver, job.rec, job.args
        name = key or job.action
        if name in DRIVER_CALLS:
            await getattr(d, DRIVER_CALLS[name])(rec)
        elif name == "reboot":
            await d.reboot(rec, bool(args.get("hard")))
        elif name == "rescue":
            await d.rescue(rec, args.get("image") or {}, admin_password=args.get("admin_password"))
        else:
            await getattr(d, name)(rec)

    async def _simple(self, job: Job) -> None:
        key = job.action
        step = SIMPLE[key]
        job.action = step.action
        task = ("rebooting_hard" if job.args.get("hard") else "rebooting") if step.action == "reboot" else step.task
        if not await self.update(job, task, {}, step.event):
            LOG.info("%s of %s skipped: it is no longer %s", step.action, job.id, task)
            return
        await self.notify(step.notify, "start", job.rec)
        try:
            await self._call(job, key)
        except DriverError as e:
            LOG.warning("%s of %s on %s failed: %s", step.action, job.id, self.agent.host, e.message)
            await self.update(job, task, {"task_state": None, "power_state": await self.power(job.id)},
                              step.event, result="Error", traceback=e.message)
            await self.notify(step.notify, "error", job.rec, message=e.message)
            return
        await self.update(job, task, {"vm_state": step.final, "task_state": None,
                                      "power_state": await self.power(job.id)}, step.event, result="Success")
        await self.notify(step.notify, "end", {**job.rec, "vm_state": step.final})

    async def rebuild(self, job: Job) -> None:
        event, rec = "compute_rebuild_instance", job.rec
        if not await self.update(job, "rebuilding", {}, event):
            return
        await self.notify("rebuild", "start", rec)
        network_info = rec.get("network_info") or []
        stopped = rec.get("vm_state") == "stopped"
        try:
            await self.driver.destroy(rec, network_info)
            if not await self.update(job, "rebuilding", {"task_state": "rebuild_spawning"}):
                return
            await self.driver.spawn(rec, job.args.get("image") or {"id": rec.get("image_ref")}, network_info,
                                    admin_password=job.args.get("admin_password"),
                                    block_devices=rec.get("block_devices"))
            if stopped:
                await self.driver.power_off(rec)
        except DriverError as e:
            LOG.warning("rebuild of %s on %s failed: %s", job.id, self.agent.host, e.message)
            await self.update(job, ["rebuilding", "rebuild_spawning"], {
                "vm_state": "error", "task_state": None, "power_state": await self.power(job.id)}, event,
                result="Error", traceback=e.message)
            await self.notify("rebuild", "error", rec, message=e.message)
            return
        final = "stopped" if stopped else "active"
        await self.update(job, "rebuild_spawning", {"vm_state": final, "task_state": None,
                                                    "power_state": await self.power(job.id),
                                                    "launched_at": utcnow().isoformat()}, event, result="Success")
        await self.notify("rebuild", "end", {**rec, "vm_state": final})


    # -- the guest's own configuration (asked and answered: the API waits for the driver) -----------
    async def set_admin_password(self, payload: dict) -> dict[str, Any]:
        """``changePassword``: the API set ``updating_password`` and waits for this answer, so that
        a guest without an agent is the caller's 409 (Nova's ``set_admin_password`` is an RPC call).
        The password is in this message only; it is never kept."""
        from nubes.core.exceptions import BadRequest, Conflict

        rec, password = payload.get("instance"), payload.get("password")
        if not isinstance(rec, dict) or not rec.get("id") or not isinstance(password, str):
            raise BadRequest("set_admin_password needs an instance record and a password.")
        job = Job(dict(rec), payload.get("request_id"), "changePassword", {})
        event, task = "compute_set_admin_password", "updating_password"
        async with self.locks[job.id]:
            if not await self.update(job, task, {}, event):
                raise Conflict(f"Instance {job.id} is no longer updating its password.")
            try:
                await self.driver.set_admin_password(rec, password)
            except DriverError as e:
                message = e.message or "Unable to set password on instance"
                LOG.warning("changePassword of %s on %s failed: %s", job.id, self.agent.host, message)
                await self.update(job, task, {"task_state": None}, event, result="Error", traceback=message)
                raise Conflict(message) from None
            await self.update(job, task, {"task_state": None}, event, result="Success")
        return {"changed": True}

    async def live_migration_force_complete(self, payload: dict) -> None:
        """The source's driver finishes the live migration without waiting for memory to converge."""
        rec = payload.get("instance")
        if not isinstance(rec, dict) or not rec.get("id"):
            LOG.error("live_migration_force_complete without an instance record")
            return
        job = Job(dict(rec), payload.get("request_id"), "live_migration_force_complete", {})
        event = "compute_live_migration_force_complete"
        if not await self.update(job, "migrating", {}, event):
            return
        try:
            await self.driver.live_migration_force_complete(rec)
        except DriverError as e:
            await self.update(job, ..., {}, event, result="Error", traceback=e.message)
            return
        await self.update(job, ..., {}, event, result="Success")

    async def inject_network_info(self, payload: dict) -> None:
        """``injectNetworkInfo``: the driver hands the guest the network configuration of its record."""
        rec = payload.get("instance")
        if not isinstance(rec, dict) or not rec.get("id"):
            LOG.error("inject_network_info without an instance record")
            return
        try:
            await self.driver.inject_network_info(rec, rec.get("network_info") or [])
        except DriverError as e:
            LOG.warning("injectNetworkInfo of %s on %s failed: %s", rec["id"], self.agent.host, e.message)


def build(agent: Any) -> tuple[Actions, Any, dict[str, Any]]:
    """The agent's actions, its move steps, and the handlers they add to its table (``agent.manager``)."""
    from nubes.compute.agent import actions_evacuate, actions_images, actions_moves, actions_ports, actions_volumes

    acts = Actions(agent)
    acts.handlers.update(actions_images.ImageSteps(acts).handlers())
    acts.handlers.update(actions_evacuate.EvacuateSteps(acts).handlers())
    ports = actions_ports.PortSteps(acts)
    acts.handlers.update(ports.handlers())
    moves = actions_moves.MoveSteps(acts)
    volumes = actions_volumes.VolumeSteps(acts)
    return acts, moves, {"instance_action": acts.instance_action, "attach_interface": ports.attach_interface,
                         **volumes.handlers(),
                         "set_admin_password": acts.set_admin_password,
                         "inject_network_info": acts.inject_network_info,
                         "live_migration_force_complete": acts.live_migration_force_complete, **moves.handlers()}


def handlers(agent: Any) -> dict[str, Any]:
    return build(agent)[2]
