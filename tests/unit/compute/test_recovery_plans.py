"""Who re-drives which unfinished work after a crash: the conductor's table (``conductor_step``), a
host's (``resume.plan``), and the pending arguments kept with a task (``service.pending``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nubes.compute.agent.resume import Plan, plan
from nubes.compute.conductor.recovery import conductor_step
from nubes.compute.service import pending


@pytest.mark.parametrize("state, step", [
    (("building", "scheduling", None, None), "schedule"),
    (("building", None, "h1", None), "schedule"),                 # placed, not taken up: sent again
    (("building", None, None, None), None),
    (("building", "networking", "h1", None), None),               # the host's (or conductor.watch's)
    (("building", "spawning", "h1", None), None),
    (("building", "deleting", None, None), "delete"),
    (("active", "deleting", None, None), "delete"),               # no host: deleted by the conductor
    (("active", "deleting", "h1", None), None),                   # its host's
    (("active", "resize_prep", "h1", "pre-migrating"), "move"),
    (("active", "migrating", "h1", "accepted"), "move"),
    (("active", "resize_prep", "h1", "migrating"), None),         # the source's step now
    (("active", "resize_finish", "h1", "post-migrating"), None),  # the destination's
    (("resized", None, "h2", "confirming"), "confirm"),
    (("resized", "resize_reverting", "h2", "reverting"), "revert"),
    (("shelved_offloaded", "unshelving", None, None), "unshelve"),
    (("shelved", "unshelving", "h1", None), "unshelve"),
    (("shelved_offloaded", "spawning", "h1", None), None),        # the host's spawn
    (("active", "powering-off", "h1", None), None),
    (("active", None, "h1", None), None),
])
def test_the_conductors_steps(state, step):
    assert conductor_step(*state) == step


def test_a_delete_on_a_host_that_is_down_is_the_conductors():
    assert conductor_step("active", "deleting", "h1", None, host_down=True) == "delete"


def test_a_deleted_instance_with_a_move_not_over_is_cleaned_up():
    assert conductor_step("deleted", None, None, "post-migrating", deleted=True) == "delete"
    assert conductor_step("deleted", None, None, None, deleted=True) is None


def rec(task, vm="active", host="h1", migration=None, **extra):
    return {"id": "i1", "task_state": task, "vm_state": vm, "host": host, "migration": migration, **extra}


def move(kind, status, source="h1", dest="h2"):
    return {"id": "m1", "kind": kind, "status": status, "source_compute": source, "dest_compute": dest}


@pytest.mark.parametrize("record, host, wanted", [
    (rec(None), "h1", None),
    (rec("networking", vm="building"), "h1", None),                # builds go back to the conductor
    (rec("deleting"), "h1", Plan("terminate", "deleting")),
    (rec("deleting", vm="building"), "h1", Plan("terminate", "deleting")),   # deleted while it was built
    (rec("deleting"), "h2", None),
    (rec("powering-off"), "h1", Plan("action", "powering-off", "stop")),
    (rec("powering-off"), "h2", None),
    (rec("rebooting_hard"), "h1", Plan("action", "rebooting_hard", "reboot")),
    (rec("rebuild_spawning"), "h1", Plan("action", "rebuilding", "rebuild")),
    (rec("image_uploading"), "h1", Plan("action", "image_snapshot", "snapshot")),
    (rec("shelving_image_pending_upload"), "h1", Plan("action", "shelving", "shelve")),
    (rec("shelving_offloading", vm="shelved"), "h1", Plan("action", "shelving_offloading", "shelve_offload")),
    (rec("spawning", vm="shelved_offloaded"), "h1", Plan("action", "unshelving", "unshelve")),
    (rec("unshelving", vm="shelved"), "h1", None),                 # the conductor's
    # a cold move: the source's steps, then the destination's
    (rec("resize_prep", migration=move("resize", "migrating")), "h1", Plan("move_out", "resize_prep")),
    (rec("resize_migrating", migration=move("resize", "migrating")), "h1", Plan("move_out", "resize_prep")),
    (rec("resize_migrated", migration=move("resize", "migrating")), "h1", Plan("move_out", "resize_prep")),
    (rec("resize_migrated", migration=move("resize", "migrating")), "h2", None),
    (rec("resize_migrated", migration=move("resize", "post-migrating")), "h2", Plan("move_in", "resize_migrated")),
    (rec("resize_finish", migration=move("migration", "post-migrating")), "h2",
     Plan("move_in", "resize_migrated")),
    (rec("resize_finish", migration=move("resize", "post-migrating")), "h1", None),
    (rec("resize_prep", migration=move("resize", "pre-migrating")), "h1", None),   # not scheduled yet
    # a live one
    (rec("migrating", migration=move("live-migration", "preparing")), "h1", Plan("move_out", "migrating")),
    (rec("migrating", migration=move("live-migration", "running")), "h2", Plan("move_in", "migrating")),
    (rec("migrating", migration=move("live-migration", "running")), "h1", None),
    (rec("migrating", migration=move("live-migration", "accepted")), "h1", None),
    (rec("resize_reverting", vm="resized", migration=move("resize", "reverting")), "h2", None),
])
def test_a_hosts_plans(record, host, wanted):
    assert plan(record, host) == wanted


def test_pending_work_is_kept_for_its_action_only_and_forgotten():
    row = SimpleNamespace(request={"networks": []})
    pending.remember(row, "snapshot", {"image_id": "img"}, "req-1")
    record = {"request": row.request}
    assert pending.of(record, "snapshot") == {"action": "snapshot", "args": {"image_id": "img"},
                                              "request_id": "req-1"}
    assert pending.of(record, ("rebuild", "snapshot"))["args"] == {"image_id": "img"}
    assert pending.of(record, "rebuild") == {}
    pending.remember_data(row, "move_data", {"x": 1})
    assert pending.of({"request": row.request})["move_data"] == {"x": 1}
    pending.forget(row)
    assert row.request == {"networks": []}
    assert pending.of({"request": None}) == {} and pending.of({}) == {}


@pytest.mark.parametrize("state, step", [
    (("active", "rebuilding", "h1", "accepted"), "evacuate"),       # an evacuation not placed yet
    (("active", "rebuilding", "h2", "pre-migrating"), None),        # placed: the new host's
    (("active", "rebuilding", "h1", None), None),                   # a rebuild: its host's
])
def test_the_conductor_redrives_an_evacuation_not_placed(state, step):
    assert conductor_step(*state) == step


@pytest.mark.parametrize("record, host, wanted", [
    (rec("rebuild_spawning", host="h2", migration=move("evacuation", "pre-migrating")), "h2",
     Plan("action", "rebuilding", "evacuate")),
    (rec("rebuilding", host="h2", migration=move("evacuation", "pre-migrating")), "h2",
     Plan("action", "rebuilding", "evacuate")),
    (rec("rebuilding", host="h1", migration=move("evacuation", "accepted")), "h1", None),   # the conductor's
    (rec("updating_password"), "h1", Plan("action", "updating_password", "changePassword")),
    (rec("soft-deleting"), "h1", Plan("action", "soft-deleting", "soft_delete")),
    (rec("restoring", vm="soft-delete"), "h1", Plan("action", "restoring", "restore")),
    (rec("image_backup"), "h1", Plan("action", "image_backup", "backup")),
])
def test_a_host_resumes_the_new_actions(record, host, wanted):
    assert plan(record, host) == wanted
