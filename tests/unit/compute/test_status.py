"""A server's status from its states and back, as Nova's state map says."""

from __future__ import annotations

import pytest

from nubes.compute.service.server_status import states_for, status


@pytest.mark.parametrize(("vm", "task", "shown"), [
    ("building", "scheduling", "BUILD"), ("building", None, "BUILD"), ("active", None, "ACTIVE"),
    ("active", "deleting", "ACTIVE"), ("active", "rebooting", "REBOOT"), ("active", "rebooting_hard", "HARD_REBOOT"),
    ("active", "resize_prep", "RESIZE"), ("active", "updating_password", "PASSWORD"),
    ("stopped", None, "SHUTOFF"), ("stopped", "rebuilding", "REBUILD"), ("resized", None, "VERIFY_RESIZE"),
    ("resized", "resize_reverting", "REVERT_RESIZE"), ("error", None, "ERROR"), ("error", "rebuilding", "REBUILD"),
    ("deleted", None, "DELETED"), ("soft-delete", None, "SOFT_DELETED"), ("paused", "migrating", "MIGRATING"),
    ("shelved_offloaded", None, "SHELVED_OFFLOADED"), ("rescued", None, "RESCUE"), ("nonsense", None, "UNKNOWN"),
])
def test_status(vm, task, shown):
    assert status(vm, task) == shown


def test_states_for_statuses():
    vm, task = states_for(["ACTIVE"])
    assert vm == ["active"] and "default" in task
    vm, task = states_for(["reboot"])
    assert vm == ["active"] and set(task) == {"rebooting", "reboot_pending", "reboot_started"}
    vm, task = states_for(["REBUILD"])
    assert vm == ["active", "error", "stopped"] and "default" not in task
    assert states_for(["NOPE"]) == ([], [])
    assert states_for(["BUILD", "ERROR"])[0] == ["building", "error"]
