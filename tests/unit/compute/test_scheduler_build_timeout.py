"""A build stuck past build_timeout goes to ERROR with a fault saying where it was stuck, and
its placement claim is released (the conductor's periodic check)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from nubes.compute.conductor import instances
from nubes.compute.conf import ComputeConfig
from nubes.compute.db.models import Base, Instance, InstanceFault
from nubes.compute.db.queries import actions as qa
from nubes.core.db.base import utcnow
from nubes.core.db.session import Database


class FakeClients:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []

    async def request(self, service: str, method: str, path: str, **_kw):
        self.calls.append((service, method, path))
        return SimpleNamespace(status_code=204, json=dict, text="")


class FakeBus:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict]] = []

    async def publish(self, event_type: str, payload: dict) -> None:
        self.events.append((event_type, payload))


@pytest.fixture
async def conductor(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/compute.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield SimpleNamespace(db=db, conf=ComputeConfig(build_timeout=60), clients=FakeClients(), bus=FakeBus())
    await db.close()


async def _instance(c, *, age: float, host: str | None, vm_state: str = "building") -> str:
    iid = str(uuid.uuid4())
    when = utcnow() - timedelta(seconds=age)
    async with c.db.session() as s:
        s.add(Instance(id=iid, project_id="p", user_id="u", flavor={"vcpus": 1}, vm_state=vm_state, host=host,
                       task_state="spawning" if host else "scheduling", created_at=when, updated_at=when,
                       request={"admin_password": "pw"}))
        await s.flush()
        qa.start(s, iid, "create", "req-1", "u", "p")
    return iid


async def test_stuck_builds_go_to_error(conductor):
    stuck = await _instance(conductor, age=120, host="h1")
    waiting = await _instance(conductor, age=120, host=None)
    fresh = await _instance(conductor, age=5, host="h1")
    done = await _instance(conductor, age=300, host="h1", vm_state="active")
    assert await instances.check_builds(conductor) == 2
    async with conductor.db.reader() as s:
        rows = {i: await s.get(Instance, i) for i in (stuck, waiting, fresh, done)}
        faults = {f.instance_id: f for f in (await s.execute(select(InstanceFault)))
                  .scalars()}
    assert rows[stuck].vm_state == "error" and rows[waiting].vm_state == "error"
    assert rows[fresh].vm_state == "building" and rows[done].vm_state == "active"
    assert "admin_password" not in rows[stuck].request
    assert "timed out after 60 seconds on host h1" in faults[stuck].message
    assert "while it was being scheduled" in faults[waiting].message
    assert ("placement", "DELETE", f"/allocations/{stuck}") in conductor.clients.calls
    assert [e for e, _ in conductor.bus.events] == ["compute.instance.create.error"] * 2
    assert await instances.check_builds(conductor) == 0
