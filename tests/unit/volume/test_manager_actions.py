"""The volume manager's sources and actions against a recording bus, the fake driver and an image
service answered in-process: images checked before they reach a volume (format, checksum, virtual
size), staging files removed in every path, compute told of an online extend, and the reconcile
of each task."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import httpx

from nubes.volume.agent.manager import VolumeManager
from nubes.volume.conf import BackendConf
from nubes.volume.drivers.fake import FakeDriver
from tests.unit.volume.test_manager import RecordingBus, record

DATA = b"bytes of an image " * 100


class Tokens:
    async def service_token(self) -> str:
        return "service-token"

    def forget_service_token(self) -> None:
        pass


class FakeClients:
    """ServiceClients' surface the manager uses, over an in-process image and compute service."""

    def __init__(self, images: dict[str, tuple[dict, bytes]]) -> None:
        self.images = images
        self.requests: list[tuple[str, str, bytes]] = []
        self.tokens = Tokens()
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(self._answer))

    def _answer(self, req: httpx.Request) -> httpx.Response:
        self.requests.append((req.method, req.url.path, req.content if req.method != "PUT" else b""))
        parts = req.url.path.strip("/").split("/")
        if parts[:2] == ["v2", "images"] and len(parts) >= 3:
            found = self.images.get(parts[2])
            if req.method == "DELETE":
                return httpx.Response(204)
            if req.method == "PUT":
                return httpx.Response(204)
            if found is None:
                return httpx.Response(404)
            return httpx.Response(200, content=found[1]) if parts[3:] == ["file"] else httpx.Response(200, json=found[0])
        if req.url.path == "/os-server-external-events":
            return httpx.Response(200, json=json.loads(req.content))
        return httpx.Response(404)

    async def endpoint(self, service_type: str) -> str:
        return f"http://{service_type}"

    async def request(self, service_type: str, method: str, path: str, **kw) -> httpx.Response:
        kw.pop("token", None)
        return await self.http.request(method, f"http://{service_type}{path}", **kw)


def image(image_id: str, data: bytes, disk_format: str, **extra) -> tuple[dict, bytes]:
    rec = {"id": image_id, "name": f"img-{image_id}", "status": "active", "disk_format": disk_format,
           "container_format": "bare", "size": len(data), "checksum": hashlib.md5(data).hexdigest(),
           "min_disk": 0, "min_ram": 0, "os_distro": "test", **extra}
    return rec, data


def qcow2_bytes(tmp: Path, virtual_mib: int) -> bytes:
    raw, out = tmp / "src.raw", tmp / "src.qcow2"
    with open(raw, "wb") as fh:
        fh.write(DATA)
        fh.truncate(virtual_mib << 20)
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(out)], check=True)
    return out.read_bytes()


def make(tmp: Path, bus: RecordingBus, clients: FakeClients) -> tuple[VolumeManager, FakeDriver]:
    backend = BackendConf("fake", "fake", tmp / "fake", 10)
    driver = FakeDriver(backend)
    return VolumeManager(bus, "node", backend, driver, clients=clients), driver


def casts(bus: RecordingBus, method: str) -> list[dict]:
    return [c[2] for c in bus.casts if c[1] == method]


def calls(bus: RecordingBus, method: str) -> list[dict]:
    """Reports the manager waits for (the extend's: compute reads the new size after it)."""
    return [c[2] for c in bus.calls if c[1] == method]


def staged(tmp: Path) -> list[Path]:
    d = tmp / "fake.staging"
    return list(d.iterdir()) if d.exists() else []


async def test_an_image_reaches_the_volume_with_its_metadata(tmp_path):
    qcow = qcow2_bytes(tmp_path, 64)
    clients = FakeClients({"good": image("good", qcow, "qcow2")})
    bus = RecordingBus()
    manager, driver = make(tmp_path, bus, clients)
    await manager.create_volume({"volume": record("v1", "downloading"), "source": {"kind": "image", "image_id": "good"}})
    (done,) = casts(bus, "volume_created")
    assert done["bootable"] is True and done["image_metadata"]["image_id"] == "good"
    assert done["image_metadata"]["disk_format"] == "qcow2" and done["image_metadata"]["os_distro"] == "test"
    assert driver.data["v1"] == DATA.rstrip(b"\0")
    assert staged(tmp_path) == []


async def test_images_refused_leave_no_staging_file(tmp_path):
    qcow = qcow2_bytes(tmp_path, 64)
    big = qcow2_bytes(tmp_path, 2048)
    bad_sum = image("sum", DATA, "raw")
    bad_sum[0]["checksum"] = "0" * 32
    clients = FakeClients({"lying": image("lying", qcow, "raw"), "sum": bad_sum,
                           "big": image("big", big, "qcow2"), "picky": image("picky", DATA, "raw", min_disk=3)})
    bus = RecordingBus()
    manager, driver = make(tmp_path, bus, clients)
    for image_id in ("lying", "sum", "big", "picky", "missing"):
        await manager.create_volume({"volume": record(f"v-{image_id}", "downloading"),
                                     "source": {"kind": "image", "image_id": image_id}})
    why = {f["volume_id"]: f["message"] for f in casts(bus, "volume_failed")}
    assert "does not match disk_format" in why["v-lying"]
    assert "checksum" in why["v-sum"]
    assert "doesn't fit in a volume of size 1GB" in why["v-big"]
    assert "minDisk" in why["v-picky"]
    assert "could not be found" in why["v-missing"]
    assert all(f["source"] == "image" for f in casts(bus, "volume_failed"))
    assert casts(bus, "volume_created") == [] and driver.data == {}
    assert staged(tmp_path) == []


async def test_online_extend_tells_compute_and_upload_streams_the_volume(tmp_path):
    clients = FakeClients({})
    bus = RecordingBus()
    manager, driver = make(tmp_path, bus, clients)
    await driver.create_volume(record("v1", None))
    driver.data["v1"] = DATA
    await manager.steps.extend_volume({"volume": record("v1", "extending"), "new_size": 2, "servers": ["s1", "s2"]})
    assert calls(bus, "volume_extended") == [{"host": "node@fake", "volume_id": "v1", "new_size": 2}]
    events = [json.loads(body)["events"][0] for m, p, body in clients.requests if p == "/os-server-external-events"]
    assert events == [{"name": "volume-extended", "server_uuid": s, "tag": "v1"} for s in ("s1", "s2")]
    await manager.steps.extend_volume({"volume": record("v1", "extending"), "new_size": 1})
    assert "shrink" in casts(bus, "volume_extend_failed")[0]["message"]
    await manager.steps.upload_to_image({"volume": record("v1", "uploading"), "image_id": "im", "disk_format": "qcow2"})
    assert casts(bus, "volume_uploaded") == [{"host": "node@fake", "volume_id": "v1", "image_id": "im"}]
    assert ("PUT", "/v2/images/im/file", b"") in clients.requests
    assert staged(tmp_path) == []


async def test_reconcile_finishes_every_task_and_empties_the_staging_directory(tmp_path):
    clients = FakeClients({})
    (tmp_path / "fake.staging").mkdir()
    (tmp_path / "fake.staging" / "old.image").write_bytes(b"left by a killed run")
    src = record("src", None)
    volumes = [src,
               {**record("clone", "cloning"), "source": {"kind": "volume", "volume": src}},
               {**record("grow", "extending"), "task_args": {"new_size": 3, "servers": []}},
               {**record("up", "uploading"), "task_args": {"image_id": "half", "previous_status": "available"}},
               {**record("back", "reverting"), "task_args": {"snapshot": {"id": "snap", "volume_id": "back"}}}]
    bus = RecordingBus(volumes)
    manager, driver = make(tmp_path, bus, clients)
    await driver.create_volume(src)
    await driver.create_volume(record("grow", None))
    await driver.create_volume(record("back", None))
    await driver.create_snapshot({"id": "snap", "volume_id": "back", "volume_size": 1}, record("back", None))
    await manager.start()
    try:
        assert staged(tmp_path) == []
        assert [c["volume_id"] for c in casts(bus, "volume_created")] == ["clone"]
        assert calls(bus, "volume_extended")[0]["new_size"] == 3 and driver.volumes["grow"] == 3
        assert casts(bus, "volume_upload_failed")[0]["volume_id"] == "up"
        assert ("DELETE", "/v2/images/half", b"") in clients.requests
        assert casts(bus, "volume_reverted")[0]["volume_id"] == "back"
    finally:
        await manager.stop()
