"""A server's API status from its vm_state and task_state, and back (Nova's state map)."""

from __future__ import annotations

DEFAULT = "default"

_REBUILD = {"rebuilding": "REBUILD", "rebuild_block_device_mapping": "REBUILD", "rebuild_spawning": "REBUILD"}
_RESIZE = {"resize_prep": "RESIZE", "resize_migrating": "RESIZE", "resize_migrated": "RESIZE",
           "resize_finish": "RESIZE"}

STATE_MAP: dict[str, dict[str, str]] = {
    "active": {DEFAULT: "ACTIVE", "rebooting": "REBOOT", "reboot_pending": "REBOOT",
               "reboot_started": "REBOOT", "rebooting_hard": "HARD_REBOOT",
               "reboot_pending_hard": "HARD_REBOOT", "reboot_started_hard": "HARD_REBOOT",
               "updating_password": "PASSWORD", **_REBUILD, "migrating": "MIGRATING", **_RESIZE},
    "building": {DEFAULT: "BUILD"},
    "stopped": {DEFAULT: "SHUTOFF", **_RESIZE, **_REBUILD},
    "resized": {DEFAULT: "VERIFY_RESIZE", "resize_reverting": "REVERT_RESIZE"},
    "paused": {DEFAULT: "PAUSED", "migrating": "MIGRATING"},
    "suspended": {DEFAULT: "SUSPENDED"},
    "rescued": {DEFAULT: "RESCUE"},
    "error": {DEFAULT: "ERROR", **_REBUILD},
    "deleted": {DEFAULT: "DELETED"},
    "soft-delete": {DEFAULT: "SOFT_DELETED"},
    "shelved": {DEFAULT: "SHELVED"},
    "shelved_offloaded": {DEFAULT: "SHELVED_OFFLOADED"},
}

PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")


def status(vm_state: str | None, task_state: str | None) -> str:
    task_map = STATE_MAP.get(vm_state or "", {DEFAULT: "UNKNOWN"})
    return task_map.get(task_state or DEFAULT, task_map[DEFAULT])


def states_for(statuses: list[str]) -> tuple[list[str], list[str]]:
    """(vm_states, task_states) matching any of the statuses; ``default`` among the task states
    means any task state."""
    wanted = {s.strip().lower() for s in statuses}
    vm, task = set(), set()
    for vm_state, task_map in STATE_MAP.items():
        for task_state, shown in task_map.items():
            if shown.lower() in wanted:
                vm.add(vm_state)
                task.add(task_state)
    return sorted(vm), sorted(task)
