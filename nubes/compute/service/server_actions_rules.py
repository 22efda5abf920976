"""Which states each server action accepts, and the task state it sets: Nova's ``check_instance_state``
decorators of ``nova/compute/api.py`` (with ``check_instance_lock`` and ``check_instance_host``), as data.

``check(row, rule, lock_exempt=...)`` raises what Nova answers: 409 "Instance <id> is locked" on a
locked server for a caller the lock holds (Nova exempts the context's is_admin, the policy's
``context_is_admin``), 409 "Instance <id> is not ready" without a host, 409 "Cannot
'<action>' instance <id> while it is in vm_state <x>" (or task_state), and "Instance <id> is
in an invalid state for '<action>'" for one that never launched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nubes.core.exceptions import NotImplementedYet
from nubes.compute import exceptions as exc

ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, RESIZED, ERROR = (
    "active", "stopped", "paused", "suspended", "rescued", "resized", "error")
SHELVED, SHELVED_OFFLOADED = "shelved", "shelved_offloaded"

ALLOW_SOFT_REBOOT = (ACTIVE,)
ALLOW_HARD_REBOOT = (ACTIVE, STOPPED, PAUSED, SUSPENDED, ERROR)
# task states a hard reboot may interrupt (task_states.ALLOW_REBOOT)
ALLOW_REBOOT = (None, "rebooting", "reboot_pending", "reboot_started", "resuming", "rebooting_hard",
                "unpausing", "pausing", "suspending")
ANY = None


@dataclass(frozen=True)
class Rule:
    """``name`` is the action as the API names it in the 409 message."""

    name: str
    vm_states: tuple[str, ...] | None
    task_states: tuple[str | None, ...] | None = (None,)
    task_state: str | None = None          # the task state the action sets (None: none)
    must_have_launched: bool = True
    lock: bool = True
    needs_host: bool = False
    instance_action: str = ""              # the os-instance-actions name ("" = the API name)

    @property
    def action(self) -> str:
        return self.instance_action or self.name


RULES: dict[str, Rule] = {r.name: r for r in (
    Rule("start", (STOPPED,), task_state="powering-on", needs_host=True),
    Rule("stop", (ACTIVE, ERROR), task_state="powering-off", needs_host=True),
    Rule("reboot_soft", ALLOW_SOFT_REBOOT, (None,), "rebooting", instance_action="reboot"),
    Rule("reboot_hard", ALLOW_HARD_REBOOT, ALLOW_REBOOT, "rebooting_hard", instance_action="reboot"),
    Rule("pause", (ACTIVE,), task_state="pausing"),
    Rule("unpause", (PAUSED,), task_state="unpausing"),
    Rule("suspend", (ACTIVE,), task_state="suspending"),
    Rule("resume", (SUSPENDED,), task_state="resuming"),
    Rule("rescue", (ACTIVE, STOPPED, ERROR), task_state="rescuing"),
    Rule("unrescue", (RESCUED,), task_state="unrescuing"),
    Rule("rebuild", (ACTIVE, STOPPED, ERROR), task_state="rebuilding"),
    # no lock check: "lock is intended to prevent accidental change/delete of instances"
    Rule("createImage", (ACTIVE, STOPPED, PAUSED, SUSPENDED), task_state="image_snapshot", lock=False),
    Rule("shelve", (ACTIVE, STOPPED, PAUSED, SUSPENDED), task_state="shelving"),
    Rule("shelveOffload", (SHELVED,), task_state="shelving_offloading"),
    Rule("unshelve", (SHELVED, SHELVED_OFFLOADED), task_state="unshelving"),
    Rule("resize", (ACTIVE, STOPPED), task_state="resize_prep", needs_host=True),
    Rule("migrate", (ACTIVE, STOPPED), task_state="resize_prep", needs_host=True),
    Rule("confirmResize", (RESIZED,)),
    Rule("revertResize", (RESIZED,), task_state="resize_reverting"),
    Rule("os-migrateLive", (ACTIVE, PAUSED), task_state="migrating", needs_host=True,
         instance_action="live-migration"),
    Rule("attach_interface", (ACTIVE, PAUSED, STOPPED), needs_host=True),
    Rule("detach_interface", (ACTIVE, PAUSED, STOPPED), needs_host=True),
    # Nova also allows RESIZED, SOFT_DELETED, SHELVED and SHELVED_OFFLOADED: each would need the
    # volume re-attached by a later move or unshelve, which nubes does not do yet (below).
    Rule("attach_volume", (ACTIVE, PAUSED, STOPPED), needs_host=True),
    Rule("detach_volume", (ACTIVE, PAUSED, STOPPED), needs_host=True),
    Rule("lock", ANY, ANY, must_have_launched=False, lock=False),
    Rule("unlock", ANY, ANY, must_have_launched=False, lock=False),
    Rule("os-resetState", ANY, ANY, must_have_launched=False, lock=False),
    Rule("update metadata", (ACTIVE, PAUSED, SUSPENDED, STOPPED), ANY, must_have_launched=False),
    Rule("delete metadata", (ACTIVE, PAUSED, SUSPENDED, STOPPED), ANY, must_have_launched=False),
    Rule("addSecurityGroup", ANY, ANY, must_have_launched=False, lock=False),
    Rule("removeSecurityGroup", ANY, ANY, must_have_launched=False, lock=False),
    Rule("changePassword", (ACTIVE,), task_state="updating_password", needs_host=True),
    # Nova checks only that the server has a host
    Rule("injectNetworkInfo", ANY, ANY, must_have_launched=False, lock=False, needs_host=True),
    # soft delete (reclaim_instance_interval > 0; a server it does not fit is deleted at once)
    Rule("soft_delete", (ACTIVE, STOPPED, PAUSED, SUSPENDED, RESCUED, ERROR, SHELVED), (None,),
         task_state="soft-deleting", needs_host=True, instance_action="delete"),
    Rule("restore", ("soft-delete",), task_state="restoring", needs_host=True),
    Rule("createBackup", (ACTIVE, STOPPED, PAUSED, SUSPENDED), task_state="image_backup", lock=False),
    Rule("evacuate", (ACTIVE, STOPPED, ERROR), task_state="rebuilding", needs_host=True),
)}

# Tags change in these states only (server_tags.py), whatever the task and the lock.
TAG_STATES = (ACTIVE, PAUSED, RESCUED, RESIZED, STOPPED, SUSPENDED, SHELVED, SHELVED_OFFLOADED, "building")


# What a volume-backed server (no image_ref: its root is a volume) cannot do here: each would need
# its volumes' attachments moved to another host, a volume snapshot behind an image, or the root
# volume reimaged, none of which nubes does yet (docs/compute.md, "Boot from volume").
VOLUME_BACKED_UNSUPPORTED = {"rebuild", "createImage", "createBackup", "shelve", "shelveOffload", "unshelve",
                             "resize", "migrate", "os-migrateLive", "evacuate"}


def volume_backed(row: Any, rule: Rule) -> None:
    if rule.name == "rescue":
        raise exc.BadRequest("Cannot rescue a volume-backed instance")
    if rule.name in VOLUME_BACKED_UNSUPPORTED:
        raise NotImplementedYet(f"{rule.name} of a volume-backed server (instance {row.id}) is not "
                                "implemented by nubes.")


# What a server with attached data volumes cannot do here: its volumes' attachments would have to
# follow it to another host (or wait, reserved, through an offload), which nubes does not do yet.
MOVES_WITH_VOLUMES_UNSUPPORTED = {"shelve", "shelveOffload", "resize", "migrate", "os-migrateLive",
                                  "evacuate"}


def with_volumes(row: Any, rule: Rule, volumes: int) -> None:
    """``volumes``: how many volumes the server has attached (its volume BDM rows)."""
    if volumes and rule.name in MOVES_WITH_VOLUMES_UNSUPPORTED:
        raise NotImplementedYet(f"{rule.name} of a server with attached volumes (instance {row.id}) is not "
                                "implemented by nubes: detach them first.")


def check(row: Any, rule: Rule, *, lock_exempt: bool, name: str | None = None) -> None:
    """Nova's order: the lock, then the host, then vm_state, task_state and launched_at."""
    shown = name or rule.name
    if rule.lock and row.locked and not lock_exempt:
        raise exc.InstanceIsLocked(row.id)
    if rule.needs_host and not row.host:
        raise exc.InstanceNotReady(row.id)
    if not row.image_ref:
        volume_backed(row, rule)
    if rule.vm_states is not None and row.vm_state not in rule.vm_states:
        raise exc.InstanceInvalidState("vm_state", row.vm_state, shown, row.id)
    if rule.task_states is not None and row.task_state not in rule.task_states:
        raise exc.InstanceInvalidState("task_state", row.task_state, shown, row.id)
    if rule.must_have_launched and row.launched_at is None:
        raise exc.InstanceInvalidStateFor(row.id, shown)


def check_tags(row: Any, action: str) -> None:
    if row.vm_state not in TAG_STATES:
        raise exc.InstanceInvalidState("vm_state", row.vm_state, action, row.id)
