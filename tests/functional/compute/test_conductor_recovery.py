"""The conductor's recovery loop against a real database (SQLite): which unfinished work it takes up,
when (the lease; at once on the in-process bus for what predates its start), and with which
message. Its handlers are recorders here: what they then do is the build, move and delete tests'."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from nubes.compute.conductor.recovery import ConductorRecovery
from nubes.compute.conf import ComputeConfig
from nubes.compute.db.models import Base, Instance, Migration, Service
from nubes.compute.service import pending
from nubes.core.config import Config, CoreConfig
from nubes.core.db.base import utcnow
from nubes.core.db.session import Database

LEASE = 30.0


class Conductor:
    """What the recovery uses of a conductor: its database, configuration, busy set and handlers."""

    def __init__(self, tmp, bus_url: str) -> None:
        self.conf = ComputeConfig(recovery_lease=LEASE, service_down_time=60)
        self.rt = SimpleNamespace(conf=Config(core=CoreConfig(state_dir=tmp, bus_url=bus_url),
                                              services={"compute": self.conf}))
        self.db = Database(f"sqlite+aiosqlite:///{tmp}/compute-{uuid.uuid4().hex[:6]}.sqlite")
        self.busy: Counter[str] = Counter()
        self.calls: list[tuple[str, dict]] = []

    def handlers(self) -> dict[str, Any]:
        def recorder(name: str) -> Any:
            async def handler(payload: dict) -> None:
                self.calls.append((name, payload))
            return handler

        return {n: recorder(n) for n in ("build_instances", "delete_instance", "move_instance", "confirm_move",
                                         "revert_move", "unshelve_instance")}


async def make(tmp, bus_url: str) -> tuple[Conductor, ConductorRecovery]:
    c = Conductor(tmp, bus_url)
    async with c.db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    return c, ConductorRecovery(c)


@pytest.fixture
async def on_rabbitmq(tmp_path):
    c, rec = await make(tmp_path, "amqp://guest:guest@127.0.0.1:5672/")
    yield c, rec
    await c.db.close()


@pytest.fixture
async def in_process(tmp_path):
    c, rec = await make(tmp_path, "memory://")
    yield c, rec
    await c.db.close()


def ago(seconds: float):
    return utcnow() - timedelta(seconds=seconds)


async def instance(c: Conductor, *, changed: float, work: tuple[str, dict] | None = None, **values: Any) -> str:
    iid = str(uuid.uuid4())
    row = Instance(id=iid, project_id="p", user_id="u", display_name="vm", flavor={"vcpus": 1},
                   vm_state=values.pop("vm_state", "active"), power_state=1, updated_at=ago(changed),
                   request={}, metadata_items=[], tags=[], **values)
    if work:
        pending.remember(row, work[0], work[1], "req-1")
    async with c.db.session() as s:
        s.add(row)
    return iid


async def migration(c: Conductor, iid: str, status: str, kind: str = "resize", **values: Any) -> str:
    mid = str(uuid.uuid4())
    async with c.db.session() as s:
        s.add(Migration(uuid=mid, instance_id=iid, source_compute="h1", migration_type=kind, status=status,
                        updated_at=utcnow(), **values))
    return mid


async def test_abandoned_work_is_redriven_with_its_kept_arguments(on_rabbitmq):
    c, rec = on_rabbitmq
    old = LEASE + 5
    sched = await instance(c, changed=old, vm_state="building", task_state="scheduling")
    placed = await instance(c, changed=old, vm_state="building", host="h1")
    gone = await instance(c, changed=old, task_state="deleting")
    resize = await instance(c, changed=old, task_state="resize_prep", host="h1",
                            work=("move_instance", {"kind": "resize", "host": "h2"}))
    mid = await migration(c, resize, "pre-migrating")
    confirm = await instance(c, changed=old, vm_state="resized", host="h2")
    cmid = await migration(c, confirm, "confirming")
    unshelve = await instance(c, changed=old, vm_state="shelved_offloaded", task_state="unshelving",
                              work=("unshelve", {"host": "h3"}))
    await rec.run_once()
    assert sorted(c.calls, key=str) == sorted([
        ("build_instances", {"instance_ids": [sched]}),
        ("build_instances", {"instance_ids": [placed]}),
        ("delete_instance", {"instance_id": gone}),
        ("move_instance", {"instance_id": resize, "migration_id": mid, "request_id": "req-1", "kind": "resize",
                           "host": "h2"}),
        ("confirm_move", {"instance_id": confirm, "migration_id": cmid, "request_id": None}),
        ("unshelve_instance", {"instance_id": unshelve, "request_id": "req-1", "host": "h3"}),
    ], key=str)
    # ... once a lease: it is the handlers' again meanwhile
    c.calls.clear()
    await rec.run_once()
    assert c.calls == []


async def test_work_that_changed_within_the_lease_is_someone_elses(on_rabbitmq):
    c, rec = on_rabbitmq
    await instance(c, changed=LEASE / 2, vm_state="building", task_state="scheduling")
    await instance(c, changed=LEASE / 2, task_state="deleting")
    await rec.run_once()
    assert c.calls == []


async def test_work_its_own_handlers_run_is_skipped(on_rabbitmq):
    c, rec = on_rabbitmq
    iid = await instance(c, changed=LEASE + 5, vm_state="building", task_state="scheduling")
    c.busy[iid] += 1
    await rec.run_once()
    assert c.calls == []


async def test_on_the_in_process_bus_what_predates_the_start_is_redriven_at_once(tmp_path):
    c = Conductor(tmp_path, "memory://")
    async with c.db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    before = await instance(c, changed=1, vm_state="building", task_state="scheduling")
    rec = ConductorRecovery(c)               # started after that work was accepted
    after = await instance(c, changed=-1, vm_state="building", task_state="scheduling")
    await rec.run_once()
    assert c.calls == [("build_instances", {"instance_ids": [before]})]
    assert after not in str(c.calls)
    await c.db.close()


async def test_a_hosts_work_is_left_to_it_unless_the_host_is_down(in_process):
    c, rec = in_process
    old = LEASE + 5
    await instance(c, changed=old, task_state="powering-off", host="h1")
    await instance(c, changed=old, vm_state="building", task_state="spawning", host="h1")
    live = await instance(c, changed=old, task_state="deleting", host="h1")
    dead = await instance(c, changed=old, task_state="deleting", host="h2")
    moving = await instance(c, changed=old, task_state="resize_finish", host="h1")
    await migration(c, moving, "post-migrating", dest_compute="h2")
    async with c.db.session() as s:
        s.add(Service(uuid=str(uuid.uuid4()), host="h1", binary="nova-compute", topic="compute",
                      last_seen_up=utcnow()))
        s.add(Service(uuid=str(uuid.uuid4()), host="h2", binary="nova-compute", topic="compute",
                      last_seen_up=ago(600)))
    await rec.run_once()
    assert c.calls == []                     # hosts are not judged right after a start
    rec.started -= c.conf.service_down_time
    rec.redriven.clear()
    await rec.run_once()
    assert c.calls == [("delete_instance", {"instance_id": dead})]
    assert live not in str(c.calls)


async def test_a_deleted_server_whose_move_is_not_over_is_cleaned_up(on_rabbitmq):
    c, rec = on_rabbitmq
    iid = await instance(c, changed=LEASE + 5, deleted=True, vm_state="deleted")
    await migration(c, iid, "post-migrating", dest_compute="h2")
    await rec.run_once()
    assert c.calls == [("delete_instance", {"instance_id": iid})]
