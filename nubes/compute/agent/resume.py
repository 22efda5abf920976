"""A compute agent's recovery of its own unfinished work, as Nova's compute does on restart
(``_init_instance``): the instances of this host whose task state says an action, a delete or a
move step of this host was accepted and not finished are resumed — the step is run again, from
where it is safe to run it again — or rolled back when they cannot be.

It runs when the agent starts (its previous run was killed, or its messages were lost with an
in-process bus), once the services the steps need answer, and from the host's reconcile loop for
work left unchanged for ``recovery_lease`` seconds that no handler of this agent is working on
(a message lost while the agent ran: a process died between its commit and its cast).

| task state (this host's)                               | resumed as                             |
|--------------------------------------------------------|----------------------------------------|
| ``deleting``                                           | the terminate, again                   |
| ``powering-off``, ``powering-on``, ``rebooting[_hard]``, ``pausing``, ``unpausing``, ``suspending``, ``resuming``, ``rescuing``, ``unrescuing`` | the action, again (its driver call is idempotent) |
| ``rebuilding``, ``rebuild_spawning``                   | the rebuild, from its start            |
| ``image_snapshot``, ``image_pending_upload``, ``image_uploading`` | the snapshot, from its start, into the same image |
| ``shelving`` ..., ``shelving_offloading``              | the shelve (or the offload), again     |
| ``spawning`` of an unshelve                            | the unshelve's spawn, again            |
| ``resize_prep`` .. ``resize_migrated``, the move's source | ``move_out`` again (``migrate_to`` is idempotent) |
| ``resize_migrated``, ``resize_finish``, the move's destination | ``move_in`` again, with the migration data the conductor kept |
| a live migration's ``migrating``                       | the step of the host whose turn it is  |

A step whose arguments were not kept (``service.pending``) and that needs them (a snapshot's
image) is rolled back: its task state is cleared and its event fails with why. Builds are not
here: a build this host's previous run left half done goes back to the conductor
(``agent.recovery``). Each resume first *claims* the work: an ``instance_update`` that expects the
task state it read and sets the one the step starts from; if the instance changed meanwhile (the
step was finished by a late message, or the server deleted) nothing is done.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nubes.core.db.base import utcnow
from nubes.compute.agent.actions import Job
from nubes.compute.service import pending

LOG = logging.getLogger(__name__)

# task state -> (the instance_action it belongs to, the task state that action starts from)
ACTION_TASKS: dict[str, tuple[str, str]] = {
    "powering-off": ("stop", "powering-off"), "powering-on": ("start", "powering-on"),
    "rebooting": ("reboot", "rebooting"), "rebooting_hard": ("reboot", "rebooting_hard"),
    "pausing": ("pause", "pausing"), "unpausing": ("unpause", "unpausing"),
    "suspending": ("suspend", "suspending"), "resuming": ("resume", "resuming"),
    "rescuing": ("rescue", "rescuing"), "unrescuing": ("unrescue", "unrescuing"),
    "rebuilding": ("rebuild", "rebuilding"), "rebuild_spawning": ("rebuild", "rebuilding"),
    "image_snapshot": ("snapshot", "image_snapshot"), "image_pending_upload": ("snapshot", "image_snapshot"),
    "image_uploading": ("snapshot", "image_snapshot"),
    "shelving": ("shelve", "shelving"), "shelving_image_pending_upload": ("shelve", "shelving"),
    "shelving_image_uploading": ("shelve", "shelving"),
    "shelving_offloading": ("shelve_offload", "shelving_offloading"),
    "updating_password": ("changePassword", "updating_password"),
    "soft-deleting": ("soft_delete", "soft-deleting"), "restoring": ("restore", "restoring"),
    "image_backup": ("backup", "image_backup"),
}
# Actions that cannot run without the arguments the API kept. A changePassword's password is never
# kept, so one cut off is always rolled back (its caller saw the error).
NEEDS_ARGS = {"snapshot": "image_id", "shelve": "image_id", "changePassword": "admin_password",
              "backup": "image_id"}
# the instance action (os-instance-actions) of a move kind, and its step's event
MOVE_ACTIONS = {"resize": "resize", "migration": "migrate", "live-migration": "live-migration"}
COLD_OUT = ("resize_prep", "resize_migrating", "resize_migrated")
COLD_IN = ("resize_migrated", "resize_finish")
# What a resumed step runs at once at most (a host coming back with many unfinished servers).
CONCURRENCY = 4


@dataclass(frozen=True)
class Plan:
    kind: str                   # "terminate", "action", "move_out", "move_in"
    rewind: str | None          # the task state the step starts from (claimed before it runs)
    action: str = ""            # the instance_action, for "action"


def plan(rec: dict[str, Any], host: str) -> Plan | None:
    """What this host does about an instance record's unfinished work, or None (none, or not its)."""
    task, vm_state = rec.get("task_state"), rec.get("vm_state")
    if task == "deleting":                   # a server deleted while it was being built included
        return Plan("terminate", "deleting") if rec.get("host") == host else None
    if task is None or vm_state == "building":
        return None
    m = rec.get("migration")
    if m and task in (*COLD_OUT, *COLD_IN, "migrating"):
        source, dest = m.get("source_compute") == host, m.get("dest_compute") == host
        status = m.get("status")
        if m.get("kind") == "live-migration":
            if task == "migrating" and status == "preparing" and source:
                return Plan("move_out", "migrating")
            if task == "migrating" and status == "running" and dest:
                return Plan("move_in", "migrating")
            return None
        if status == "migrating" and task in COLD_OUT and source:
            return Plan("move_out", "resize_prep")
        if status == "post-migrating" and task in COLD_IN and dest:
            return Plan("move_in", "resize_migrated")
        return None
    if rec.get("host") != host:
        return None
    if m and m.get("kind") == "evacuation" and task in ("rebuilding", "rebuild_spawning"):
        # an evacuation this host was given (the conductor placed it here): its rebuild again
        if m.get("status") == "pre-migrating" and m.get("dest_compute") == host:
            return Plan("action", "rebuilding", "evacuate")
        return None
    if task == "spawning" and vm_state == "shelved_offloaded":
        return Plan("action", "unshelving", "unshelve")
    if task in ACTION_TASKS:
        action, start = ACTION_TASKS[task]
        return Plan("action", start, action)
    return None


def _age(rec: dict[str, Any]) -> float:
    value = rec.get("updated_at")
    if not value:
        return float("inf")
    try:
        changed = datetime.fromisoformat(str(value))
    except ValueError:
        return float("inf")
    if changed.tzinfo is None:
        changed = changed.replace(tzinfo=UTC)
    return (utcnow() - changed).total_seconds()


def left_alone(rec: dict[str, Any], lease: float) -> bool:
    """Whether the record has not changed for ``lease`` seconds."""
    return _age(rec) >= lease


class Resumer:
    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.gate = asyncio.Semaphore(CONCURRENCY)

    async def resume(self, rec: dict[str, Any]) -> bool:
        """Resume (or roll back) the record's unfinished work of this host; whether it did."""
        agent = self.agent
        agent.handlers()
        p = plan(rec, agent.host)
        if p is None or agent.busy(rec["id"]):
            return False
        async with self.gate:
            return await self._resume(rec, p)

    async def _claim(self, rec: dict[str, Any], p: Plan) -> bool:
        payload: dict[str, Any] = {"instance_id": rec["id"], "expected_task_state": rec.get("task_state"),
                                   "updates": {"task_state": p.rewind}}
        reply = await self.agent.call_conductor("instance_update", payload)
        return bool(reply and reply.get("updated"))

    async def _resume(self, rec: dict[str, Any], p: Plan) -> bool:
        iid, host = rec["id"], self.agent.host
        work = pending.of(rec)
        if p.kind == "action":
            needed = NEEDS_ARGS.get(p.action)
            args = dict(pending.of(rec, p.action).get("args") or {})
            if needed and not args.get(needed):
                return await self._roll_back(rec, p, f"its {needed} was not kept")
        if not await self._claim(rec, p):
            LOG.info("instance %s changed meanwhile; nothing to resume on %s", iid, host)
            return False
        LOG.warning("resuming the unfinished %s of instance %s on %s (task %s, from %s)",
                    p.action or p.kind, iid, host, rec.get("task_state"), p.rewind)
        rec = {**rec, "task_state": p.rewind}
        if p.kind == "terminate":
            await self.agent.life.terminate_instance({"instance_id": iid, "instance": rec})
        elif p.kind == "action":
            await self.agent.acts.instance_action({
                "instance_id": iid, "action": p.action, "request_id": pending.of(rec, p.action).get("request_id"),
                "args": self._args(rec, p), "instance": rec})
        else:
            await self._move(rec, p, work)
        return True

    def _args(self, rec: dict[str, Any], p: Plan) -> dict[str, Any]:
        args = dict(pending.of(rec, p.action).get("args") or {})
        if p.action == "reboot":
            args["hard"] = p.rewind == "rebooting_hard"
        elif p.action == "unshelve":
            args = {"image_id": (rec.get("system_metadata") or {}).get("shelved_image_id"), "on_host": False}
        elif p.action == "rebuild":
            args.setdefault("image", rec.get("image") or {"id": rec.get("image_ref")})
        elif p.action == "evacuate":
            args["migration_id"] = (rec.get("migration") or {}).get("id")
        return args

    async def _move(self, rec: dict[str, Any], p: Plan, work: dict[str, Any]) -> None:
        m = dict(rec["migration"])
        kind = m.get("kind")
        msg: dict[str, Any] = {"instance_id": rec["id"], "migration": m, "request_id": work.get("request_id"),
                               "action": MOVE_ACTIONS.get(kind or "", "migrate"),
                               "block_migration": (work.get("args") or {}).get("block_migration")}
        if p.kind == "move_out":
            await self.agent.move_steps.move_out({**msg, "instance": rec})
            return
        flavor = rec.get("new_flavor") if kind == "resize" else None
        instance = dict(rec)
        if flavor:
            instance.update(flavor=flavor, vcpus=flavor["vcpus"], memory_mb=flavor["memory_mb"],
                            root_gb=flavor["root_gb"], ephemeral_gb=flavor["ephemeral_gb"])
        old = (rec.get("system_metadata") or {}).get("old_vm_state", rec.get("vm_state"))
        await self.agent.move_steps.move_in({**msg, "instance": instance, "data": work.get("move_data") or {},
                                             "power_on": old != "stopped"})

    async def _roll_back(self, rec: dict[str, Any], p: Plan, why: str) -> bool:
        """Clear the task state (the server stays as it is) and fail the action's event."""
        reason = (f"The compute service of host {self.agent.host} restarted during this {p.action}, "
                  f"which cannot be resumed: {why}.")
        job = Job(rec, pending.of(rec).get("request_id"), "createImage" if p.action == "snapshot" else p.action, {})
        done = await self.agent.acts.update(job, rec.get("task_state"), {"task_state": None},
                                            f"compute_{p.action}_instance", result="Error", traceback=reason)
        if done:
            LOG.warning("instance %s: %s", rec["id"], reason)
        return done

    # -- passes ------------------------------------------------------------------------------------
    async def resume_all(self, records: list[dict[str, Any]], *, lease: float | None = None) -> int:
        """Resume every record's work of this host (only what was left alone for ``lease``
        seconds, when given); how many were resumed."""
        todo = [r for r in records if plan(r, self.agent.host) is not None
                and (lease is None or left_alone(r, lease))]
        results = await asyncio.gather(*(self._quietly(r) for r in todo))
        return sum(1 for r in results if r)

    async def _quietly(self, rec: dict[str, Any]) -> bool:
        try:
            return await self.resume(rec)
        except asyncio.CancelledError:
            raise
        except Exception:          # one instance's failure must not stop the others'
            LOG.exception("resuming the unfinished work of %s on %s failed", rec.get("id"), self.agent.host)
            return False

