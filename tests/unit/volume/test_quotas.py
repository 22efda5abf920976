"""Quota reservations on a temporary SQLite database: limits, 413 wording, commit, rollback, atomicity."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from nubes.core.db.session import Database
from nubes.volume import exceptions as exc
from nubes.volume.conf import VolumeConfig
from nubes.volume.db.models import Base, Reservation
from nubes.volume.service.quotas import Quotas, volume_deltas
from nubes.volume.service.types import Types


@pytest.fixture
async def quotas(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/volume.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    state = SimpleNamespace(db=db, conf=VolumeConfig())
    await Types(state).ensure_default()
    yield Quotas(state)
    await db.close()


async def usage(quotas, project: str) -> dict[str, tuple[int, int]]:
    async with quotas.db.reader() as s:
        return {k: (u.in_use, u.reserved) for k, u in (await quotas.usages(s, project)).items()}


async def test_defaults_include_per_type_resources(quotas):
    async with quotas.db.reader() as s:
        limits = await quotas.limits(s, "p1")
    assert limits["volumes"] == 10 and limits["gigabytes"] == 1000
    assert limits["volumes___DEFAULT__"] == -1 and limits["gigabytes___DEFAULT__"] == -1


async def test_reserve_commit_and_rollback(quotas):
    async with quotas.db.session() as s:
        ids = await quotas.reserve(s, "p1", volume_deltas(5, "__DEFAULT__"))
    assert (await usage(quotas, "p1"))["gigabytes"] == (0, 5)
    async with quotas.db.session() as s:
        await quotas.commit(s, ids)
    assert (await usage(quotas, "p1"))["gigabytes"] == (5, 0)
    async with quotas.db.session() as s:
        ids = await quotas.reserve(s, "p1", volume_deltas(3, None))
        await quotas.rollback(s, ids)
        await quotas.rollback(s, ids)           # a second time finds nothing to undo
    assert (await usage(quotas, "p1"))["gigabytes"] == (5, 0)
    async with quotas.db.reader() as s:
        from sqlalchemy import select

        assert (await s.execute(select(Reservation))).scalars().all() == []


async def test_over_quota_writes_nothing(quotas):
    async with quotas.db.session() as s:
        await quotas.set_limits(s, "p1", {"volumes": 1})
    async with quotas.db.session() as s:
        await quotas.commit(s, await quotas.reserve(s, "p1", volume_deltas(1, None)))
    with pytest.raises(exc.OverQuota) as err:
        async with quotas.db.session() as s:
            await quotas.reserve(s, "p1", volume_deltas(1, None))
    assert err.value.status == 413
    assert err.value.message == ("VolumeLimitExceeded: Maximum number of volumes allowed (1) exceeded "
                                 "for quota 'volumes'.")
    assert (await usage(quotas, "p1"))["volumes"] == (1, 0)


async def test_limit_below_usage_is_refused(quotas):
    async with quotas.db.session() as s:
        await quotas.commit(s, await quotas.reserve(s, "p1", volume_deltas(4, None)))
    with pytest.raises(exc.InvalidInput):
        async with quotas.db.session() as s:
            await quotas.set_limits(s, "p1", {"gigabytes": 3})
    with pytest.raises(exc.InvalidInput):
        async with quotas.db.session() as s:
            await quotas.set_limits(s, "p1", {"bogus": 3})


async def test_concurrent_reservations_stop_at_the_limit(quotas):
    async with quotas.db.session() as s:
        await quotas.set_limits(s, "p1", {"volumes": 4})

    async def one() -> bool:
        try:
            async with quotas.db.session() as s:
                await quotas.reserve(s, "p1", volume_deltas(1, None))
            return True
        except exc.OverQuota:
            return False

    results = await asyncio.gather(*(one() for _ in range(10)))
    assert results.count(True) == 4
    assert (await usage(quotas, "p1"))["volumes"] == (0, 4)


async def test_per_volume_size_limit(quotas):
    async with quotas.db.session() as s:
        await quotas.set_limits(s, "p1", {"per_volume_gigabytes": 2})
    with pytest.raises(exc.OverQuota, match="Requested volume size 3G is larger than maximum allowed limit 2G"):
        async with quotas.db.session() as s:
            await quotas.reserve(s, "p1", volume_deltas(3, None))
