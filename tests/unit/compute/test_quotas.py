"""Quota resolution and Nova's over-quota wording, on a temporary SQLite database."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest

from nubes.compute import exceptions as exc
from nubes.compute.conf import ComputeConfig
from nubes.compute.db.models import Base, Instance
from nubes.compute.db.queries import quotas as q
from nubes.compute.service.quotas import Quotas
from nubes.core.db.session import Database


@pytest.fixture
async def quotas(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/compute.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield Quotas(SimpleNamespace(db=db, conf=ComputeConfig()))
    await db.close()


async def _boot(quotas, project: str, user: str = "u1", vcpus: int = 1, ram: int = 512, n: int = 1) -> None:
    async with quotas.state.db.session() as s:
        for _ in range(n):
            s.add(Instance(id=str(uuid.uuid4()), project_id=project, user_id=user, flavor={}, vcpus=vcpus,
                           memory_mb=ram))


async def test_limits_resolve_user_project_class_conf(quotas):
    assert (await quotas.show("p1"))["instances"] == 10
    await quotas.update_class("default", {"instances": 7})
    assert (await quotas.show("p1"))["instances"] == 7
    await quotas.update("p1", None, {"instances": 5}, force=False)
    assert (await quotas.show("p1"))["instances"] == 5
    await quotas.update("p1", "u1", {"instances": 3}, force=False)
    assert (await quotas.show("p1", "u1"))["instances"] == 3
    assert (await quotas.show("p1", "u2"))["instances"] == 5
    with pytest.raises(exc.BadRequest, match="must be less than or equal to 5"):
        await quotas.update("p1", "u1", {"instances": 6}, force=False)
    await quotas.delete("p1", None)
    assert (await quotas.show("p1", "u1"))["instances"] == 7


async def test_over_quota_messages_are_novas(quotas):
    await quotas.update("p1", None, {"instances": 2, "cores": 3, "ram": 2048}, force=False)
    await _boot(quotas, "p1", n=2)
    async with quotas.state.db.session() as s:
        with pytest.raises(exc.OverQuota) as e:
            await quotas.allowed_instances(s, "p1", "u1", min_count=1, max_count=1, vcpus=1, ram=512)
    assert e.value.message == "Quota exceeded for instances: Requested 1, but already used 2 of 2 instances"
    await quotas.update("p1", None, {"instances": 10}, force=False)
    async with quotas.state.db.session() as s:
        with pytest.raises(exc.OverQuota) as e:
            await quotas.allowed_instances(s, "p1", "u1", min_count=2, max_count=2, vcpus=1, ram=1024)
    assert e.value.message == ("Quota exceeded for cores, ram: Requested 2, 2048, but already used 2, 1024 of "
                               "3, 2048 cores, ram")
    async with quotas.state.db.session() as s:
        assert await quotas.allowed_instances(s, "p1", "u1", min_count=1, max_count=5, vcpus=1, ram=256) == 1
    await quotas.update("p1", None, {"cores": -1, "ram": -1}, force=False)
    async with quotas.state.db.session() as s:
        assert await quotas.allowed_instances(s, "p1", "u1", min_count=1, max_count=5, vcpus=8, ram=8192) == 5


async def test_update_below_usage_needs_force(quotas):
    await _boot(quotas, "p2", n=3)
    with pytest.raises(exc.BadRequest, match="already used and reserved 3"):
        await quotas.update("p2", None, {"instances": 2}, force=False)
    assert (await quotas.update("p2", None, {"instances": 2}, force=True))["instances"] == 2
    detail = await quotas.detail("p2", None, None)
    assert (detail["instances"].limit, detail["instances"].in_use) == (2, 3)


async def test_lock_row_is_made_once(quotas):
    async with quotas.state.db.session() as s:
        await q.lock(s, "p3")
        await q.lock(s, "p3")
    async with quotas.state.db.session() as s:
        await q.lock(s, "p3")
