"""The qemu driver refuses images that are not what they claim, or are unsafe, whatever Glance says.

No root and no QEMU process are needed: the driver is given images as an image service would
serve them (``LocalImages``) and refuses them while building the guest, before any QEMU runs.
``qemu-img`` makes the images and the overlays of the ones it takes. Every refusal is a
``SpawnFailed`` that is not retried and leaves no guest directory and no cached image.
"""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import pytest

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.base import CHUNK, SpawnFailed
from nubes.compute.drivers.qemu import QemuDriver, disks
from nubes.compute.drivers.qemu.images import LocalImages
from tests import disk_images as di
from tests.qemu_guest import record


class Counted(LocalImages):
    """LocalImages that counts the chunks it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks = 0

    async def data(self, image_id: str):
        async for chunk in super().data(image_id):
            self.chunks += 1
            yield chunk


def driver(tmp_path: Path, images: LocalImages, **options) -> QemuDriver:
    return QemuDriver("qemu-host", ComputeConfig(), state_dir=tmp_path / "state", images=images, **options)


def serve(images: LocalImages, tmp_path: Path, image_id: str, data: bytes, disk_format: str, **props) -> None:
    path = tmp_path / f"{image_id}.src"
    path.write_bytes(data)
    images.add(record(image_id, data, disk_format, **props), path)


def cached(d: QemuDriver) -> list[str]:
    """The images in the driver's cache (lock files aside)."""
    root = d.cache.root
    return sorted(p.name for p in root.iterdir() if not p.name.endswith(".lock")) if root.exists() else []


async def refused(d: QemuDriver, image_id: str, refused_id: str | None = None) -> str:
    """Spawn a guest of ``image_id``: refused, no guest left, ``refused_id`` (the image) not cached."""
    inst = {"id": str(uuid.uuid4()), "flavor": {"vcpus": 1, "memory_mb": 128, "root_gb": 1}}
    with pytest.raises(SpawnFailed) as err:
        await d.spawn(inst, {"id": image_id}, [])
    assert not err.value.retryable
    assert await d.list_instances() == []
    assert not (d.instances_dir / inst["id"]).exists()
    left = [name for name in cached(d) if name.startswith(refused_id or image_id)]
    assert left == [], left
    return err.value.message


async def test_a_qcow2_with_a_backing_file_is_refused(tmp_path):
    images = LocalImages()
    path = di.make(tmp_path, "b.qcow2", "qcow2", "1G", "backing_file=/etc/passwd", "backing_fmt=raw")
    serve(images, tmp_path, "backed", path.read_bytes(), "qcow2")
    message = await refused(driver(tmp_path, images), "backed")
    assert message.startswith("Image backed cannot be used: Image does not pass safety check")
    assert "backing file ('/etc/passwd')" in message


async def test_unsafe_and_mismatched_images_are_refused(tmp_path):
    images = LocalImages()
    qcow = di.make(tmp_path, "a.qcow2", "qcow2", "1G").read_bytes()
    sparse = di.make(tmp_path, "s.vmdk", "vmdk", "10M").read_bytes()
    iso = di.iso()
    iso[:4096] = qcow[:4096]
    encrypted = bytearray(qcow)
    struct.pack_into(">I", encrypted, 32, 1)
    cases = {
        "qcow2-as-raw": (qcow, "raw", "the data is qcow2, disk_format is raw"),
        "qcow2-as-iso": (qcow, "iso", "the data is qcow2, disk_format is iso"),
        "raw-as-qcow2": (bytes(1 << 20), "qcow2", "the data is raw, disk_format is qcow2"),
        "data-file": (di.make(tmp_path, "d.qcow2", "qcow2", "1G", f"data_file={tmp_path / 'd.raw'}",
                              "data_file_raw=on").read_bytes(), "qcow2", "external data file"),
        "vmdk-passwd": (di.replace_in_descriptor(sparse, b'"s.vmdk"', b'"/etc/passwd"'), "vmdk",
                        "extent that names a path ('/etc/passwd')"),
        "iso-qcow2": (bytes(iso), "iso", "several formats at once (iso, qcow2)"),
        "encrypted": (bytes(encrypted), "qcow2", "is encrypted, and there is no key"),
    }
    for image_id, (data, disk_format, _) in cases.items():
        serve(images, tmp_path, image_id, data, disk_format)
    d = driver(tmp_path, images)
    for image_id, (_, _, words) in cases.items():
        assert words in await refused(d, image_id), image_id


async def test_an_oversized_virtual_disk_is_refused(tmp_path):
    images = LocalImages()
    serve(images, tmp_path, "big", di.make(tmp_path, "big.qcow2", "qcow2", "2G").read_bytes(), "qcow2")
    message = await refused(driver(tmp_path, images, max_virtual_size=1 << 30), "big")
    assert "virtual size (2147483648 bytes) is over this cloud's limit of 1073741824 bytes" in message


async def test_a_kernel_that_is_a_disk_is_refused(tmp_path):
    images = LocalImages()
    serve(images, tmp_path, "kernel", di.make(tmp_path, "k.qcow2", "qcow2").read_bytes(), "aki")
    serve(images, tmp_path, "root", bytes(1 << 20), "raw", kernel_id="kernel")
    d = driver(tmp_path, images)
    assert "the data is qcow2, disk_format is aki" in await refused(d, "root", "kernel")
    assert cached(d) == ["root"]                                # the root disk is fine, and kept


async def test_a_download_stops_at_the_first_chunk_that_shows_it(tmp_path):
    images = Counted()
    backed = di.make(tmp_path, "b.qcow2", "qcow2", "1G", "backing_file=/etc/passwd", "backing_fmt=raw")
    serve(images, tmp_path, "backed", backed.read_bytes() + bytes(32 * CHUNK), "qcow2")
    await refused(driver(tmp_path, images), "backed")
    assert images.chunks == 1


async def test_a_cached_image_is_inspected_again_before_a_disk_is_made_on_it(tmp_path):
    images = LocalImages()
    serve(images, tmp_path, "good", di.make(tmp_path, "g.qcow2", "qcow2", "64M").read_bytes(), "qcow2")
    d = driver(tmp_path, images)
    rec = await d.cache.record("good")
    base = await d.cache.fetch(rec)
    await d.cache.verify(rec, base)                          # a real image is taken ...
    disk = tmp_path / "overlay"
    await disks.create_root(disk, base, "qcow2", 0)           # ... and a disk is made on it
    assert (await disks.info(disk, "qcow2"))["backing-filename"] == str(base)
    # a cache filled before images were inspected (or by someone else): the file itself is what counts
    bad = di.make(tmp_path, "b.qcow2", "qcow2", "64M", "backing_file=/etc/passwd", "backing_fmt=raw")
    base.write_bytes(bad.read_bytes())
    inst = {"id": str(uuid.uuid4()), "flavor": {"vcpus": 1, "memory_mb": 128, "root_gb": 1}}
    with pytest.raises(SpawnFailed) as err:
        await d.spawn(inst, {"id": "good"}, [])
    assert "backing file ('/etc/passwd')" in err.value.message and not err.value.retryable
    assert not (d.instances_dir / inst["id"]).exists()


async def test_qemu_img_is_asked_with_the_format_and_its_data_file_is_refused_too(tmp_path):
    path = di.make(tmp_path, "d.qcow2", "qcow2", "1G", f"data_file={tmp_path / 'd.raw'}", "data_file_raw=on")
    with pytest.raises(SpawnFailed, match="external data file"):
        await disks.check_base(path, "qcow2")
    # opened as the format it is said to be, never probed: a qcow2 said to be a vmdk does not open
    with pytest.raises(SpawnFailed, match="The image is not a valid vmdk disk"):
        await disks.check_base(di.make(tmp_path, "q.qcow2", "qcow2", "1G"), "vmdk")
