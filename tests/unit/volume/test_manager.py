"""The volume manager against a recording bus and the fake driver: creates, deletes, failures,
and the reconcile after a restart (nothing left creating or deleting, orphans removed)."""

from __future__ import annotations

from pathlib import Path

from nubes.volume import rpc
from nubes.volume.agent.manager import VolumeManager
from nubes.volume.conf import BackendConf
from nubes.volume.drivers.base import VolumeDriver
from nubes.volume.drivers.fake import FakeDriver


class RecordingBus:
    def __init__(self, volumes: list[dict] | None = None) -> None:
        self.volumes = volumes or []
        self.casts: list[tuple[str, str, dict]] = []
        self.calls: list[tuple[str, str, dict]] = []
        self.served: dict[str, dict] = {}

    async def call(self, topic: str, method: str, payload: dict, timeout: float = 60) -> dict:
        self.calls.append((topic, method, payload))
        if method == "volumes_on_backend":
            return {"volumes": self.volumes}
        return {"disabled": False}

    async def cast(self, topic: str, method: str, payload: dict) -> None:
        self.casts.append((topic, method, payload))

    async def serve(self, topic: str, handlers: dict, concurrency: int = 16) -> None:
        self.served[topic] = handlers


def record(volume_id: str, task: str | None, status: str = "available") -> dict:
    return {"id": volume_id, "size": 1, "provider_location": None, "provider_id": None,
            "host": "node@fake#fake", "status": status, "task": task, "project_id": "p", "extra_specs": {}}


def make(bus: RecordingBus) -> tuple[VolumeManager, FakeDriver]:
    backend = BackendConf("fake", "fake", Path("/nonexistent"), 10)
    driver = FakeDriver(backend)
    return VolumeManager(bus, "node", backend, driver), driver


def test_fake_driver_keeps_the_contract():
    assert isinstance(FakeDriver(BackendConf("fake", "fake", Path("/x"), 10)), VolumeDriver)


async def test_start_reports_capacity_and_serves_its_topic():
    bus = RecordingBus()
    manager, _ = make(bus)
    await manager.start()
    try:
        assert rpc.manager_topic("node@fake") in bus.served
        (report,) = [c for c in bus.calls if c[1] == "service_report"]
        stats = report[2]["stats"]
        assert report[2]["host"] == "node@fake"
        assert (stats["volume_backend_name"], stats["total_capacity_gb"], stats["pool_name"]) == ("fake", 10.0, "fake")
    finally:
        await manager.stop()


async def test_create_and_delete_report_back():
    bus = RecordingBus()
    manager, driver = make(bus)
    await manager.create_volume({"volume": record("v1", "creating", "creating")})
    assert driver.volumes == {"v1": 1}
    assert bus.casts[-1][1:] == ("volume_created", {"volume_id": "v1", "host": "node@fake",
                                                    "model_update": {"provider_location": "fake:v1"}})
    await manager.delete_volume({"volume": record("v1", "deleting", "deleting")})
    await manager.delete_volume({"volume": record("v1", "deleting", "deleting")})   # delivered twice
    assert driver.volumes == {}
    assert [c[1] for c in bus.casts[-2:]] == ["volume_deleted", "volume_deleted"]


async def test_a_driver_failure_is_reported_with_its_reason():
    bus = RecordingBus()
    manager, driver = make(bus)
    driver.fail_create.add("v2")
    await manager.create_volume({"volume": record("v2", "creating", "creating")})
    topic, method, payload = bus.casts[-1]
    assert (topic, method, payload["action"]) == (rpc.WORKER_TOPIC, "volume_failed", "create")
    assert "told to fail" in payload["message"]


async def test_reconcile_finishes_what_was_under_way_and_removes_orphans():
    bus = RecordingBus([record("creating-1", "creating", "creating"), record("deleting-1", "deleting", "deleting"),
                        record("kept", None)])
    manager, driver = make(bus)
    driver.volumes.update({"deleting-1": 1, "kept": 1, "orphan": 3})
    await manager.reconcile()
    assert driver.volumes == {"creating-1": 1, "kept": 1}
    done = {(m, p["volume_id"]) for _t, m, p in bus.casts}
    assert done == {("volume_created", "creating-1"), ("volume_deleted", "deleting-1")}


async def test_reconcile_finishes_snapshots_and_removes_orphan_snapshots():
    bus = RecordingBus([record("vol", None)])
    snaps = [{"id": "s-new", "volume_id": "vol", "volume_size": 1, "provider_location": None,
              "status": "creating", "task": "creating"},
             {"id": "s-old", "volume_id": "vol", "volume_size": 1, "provider_location": None,
              "status": "deleting", "task": "deleting"}]

    async def call(topic, method, payload, timeout=60):
        return {"volumes": bus.volumes, "snapshots": snaps} if method == "volumes_on_backend" else {}

    bus.call = call
    manager, driver = make(bus)
    driver.volumes["vol"] = 1
    driver.snapshots.update({"s-old": ("vol", 1), "s-orphan": ("vol", 1)})
    await manager.reconcile()
    assert set(driver.snapshots) == {"s-new"}
    assert {(m, p.get("snapshot_id")) for _t, m, p in bus.casts} == {
        ("snapshot_created", "s-new"), ("snapshot_deleted", "s-old")}


async def test_reconcile_removes_exports_without_an_attachment():
    class ExportsBus(RecordingBus):
        async def call(self, topic, method, payload, timeout=60):
            if method == "volumes_on_backend":
                return {"volumes": self.volumes, "exports": ["att-kept"]}
            return await super().call(topic, method, payload, timeout)

    bus = ExportsBus([record("v1", None, "in-use")])
    manager, driver = make(bus)
    await driver.create_volume(record("v1", None))
    for att in ("att-kept", "att-gone"):
        reply = await manager.export_volume({"volume": record("v1", None), "attachment_id": att,
                                             "connector": {"host": "h"}})
        assert reply["connection_info"]["data"]["volume_id"] == "v1"
    await manager.reconcile()
    assert sorted(await driver.list_exports()) == [("v1", "att-kept")]
    # an export the backend cannot make is an answer, not an exception
    reply = await manager.export_volume({"volume": record("missing", None), "attachment_id": "a",
                                         "connector": {"host": "h"}})
    assert "error" in reply
