"""The worker's end of the action tasks on a temporary SQLite database: a failed extend gives its
reservation back and says why, a failed upload puts the volume back as it was, a failed create
from an image is an error with a message; a report that comes twice changes nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from nubes.core.db.session import Database
from nubes.volume.conf import VolumeConfig
from nubes.volume.db.models import Base, Message, Volume
from nubes.volume.scheduler.manager import SchedulerWorker
from nubes.volume.service import volume_tasks
from nubes.volume.service.volumes import CreateRequest
from tests.unit.volume.test_manager import RecordingBus


@pytest.fixture
async def worker(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/volume.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    bus = RecordingBus()
    w = SchedulerWorker(SimpleNamespace(db=db, service_conf=VolumeConfig(), bus=bus))
    await w.state.types.ensure_default()
    yield w
    await db.close()


CTX = SimpleNamespace(project_id="p1", user_id="u1", is_admin=False, request_id="req-1")


async def available(worker, size: int = 1) -> str:
    view = await worker.state.volumes.create(CTX, CreateRequest(size=size))
    async with worker.db.session() as s:
        row = await s.get(Volume, view.row.id)
        row.status, row.task, row.host = "available", None, "node@fake#fake"
    return view.row.id


async def gigabytes(worker) -> tuple[int, int]:
    async with worker.db.reader() as s:
        u = (await worker.state.quotas.usages(s, "p1"))["gigabytes"]
        return u.in_use, u.reserved


async def events(worker) -> list[str]:
    async with worker.db.reader() as s:
        return [m.event_id for m in (await s.execute(select(Message))).scalars()]


async def test_a_failed_extend_rolls_back_and_says_why(worker):
    vid = await available(worker)
    await worker.state.actions.extend(vid, None, 4, allow_in_use=False)
    assert await gigabytes(worker) == (1, 3)
    (cast,) = [c for c in worker.bus.casts if c[1] == "extend_volume"]
    assert cast[0] == "volume.manager.node@fake" and cast[2]["new_size"] == 4
    for _ in range(2):                      # the second delivery finds no task and changes nothing
        await worker.reports.volume_extend_failed({"volume_id": vid, "host": "node@fake", "message": "disk on fire"})
    async with worker.db.reader() as s:
        row = await s.get(Volume, vid)
        assert (row.status, row.task, row.size) == ("error_extending", None, 1)
        assert await volume_tasks.get_args(s, vid) == {}
    assert await gigabytes(worker) == (1, 0)
    assert await events(worker) == ["VOLUME_VOLUME_007_010"]


async def test_an_extend_commits_its_reservation(worker):
    vid = await available(worker)
    await worker.state.actions.extend(vid, None, 3, allow_in_use=False)
    await worker.reports.volume_extended({"volume_id": vid, "host": "node@fake", "new_size": 3})
    await worker.reports.volume_extended({"volume_id": vid, "host": "node@fake", "new_size": 3})
    assert await gigabytes(worker) == (3, 0)
    async with worker.db.reader() as s:
        assert (await s.get(Volume, vid)).status == "available"


async def test_a_failed_upload_and_a_failed_image_create(worker):
    vid = await available(worker)
    await worker.state.actions.start_upload(vid, "image-1", "qcow2", force=False)
    async with worker.db.reader() as s:
        assert (await s.get(Volume, vid)).status == "uploading"
    await worker.reports.volume_upload_failed({"volume_id": vid, "host": "node@fake", "image_id": "image-1",
                                               "message": "no room"})
    async with worker.db.reader() as s:
        assert (await s.get(Volume, vid)).status == "available"
    async with worker.db.session() as s:
        row = await s.get(Volume, vid)
        row.status, row.task = "creating", "downloading"
    await worker.volume_failed({"volume_id": vid, "host": "node@fake", "action": "create", "source": "image",
                                "message": "the image is not qcow2"})
    async with worker.db.reader() as s:
        assert (await s.get(Volume, vid)).status == "error"
        messages = list((await s.execute(select(Message))).scalars())
    assert sorted(m.event_id for m in messages) == ["VOLUME_VOLUME_003_004", "VOLUME_VOLUME_005_012"]
    assert any("the image is not qcow2" in m.user_message for m in messages)


async def test_a_volume_from_a_backup_that_went_away_or_has_no_service_is_an_error(worker):
    """The blank volume is made; then the backup is gone (deleted meanwhile), or no backup
    service serves the volume's backend: the volume is an error with a message, nothing is cast."""
    from nubes.volume.db.models import Backup

    async with worker.db.session() as s:
        s.add(Backup(id="b-1", project_id="p1", user_id="u1", volume_id="v-x", status="available", size=1,
                     container="volumebackups", host="node@fake"))
    for backup_id in ("gone", "b-1"):
        vid = await available(worker)
        async with worker.db.session() as s:
            row = await s.get(Volume, vid)
            row.status, row.task = "creating", "creating"
            await volume_tasks.set_args(s, vid, {"backup_id": backup_id})
        for _ in range(2):                  # a second delivery changes nothing
            await worker.volume_created({"volume_id": vid, "host": "node@fake", "model_update": {}})
        async with worker.db.reader() as s:
            row = await s.get(Volume, vid)
            assert (row.status, row.task) == ("error", None)
            assert await volume_tasks.get_args(s, vid) == {}
            assert (await s.get(Backup, "b-1")).status == "available"
    assert not [c for c in worker.bus.casts if c[1] == "restore_backup"]
    assert await events(worker) == ["VOLUME_VOLUME_015_026"] * 2
