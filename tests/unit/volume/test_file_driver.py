"""The file backend against real qemu-img and qemu-io: volumes, snapshots, clones, revert,
extend, images, capacity, errors, and what a new driver over the same pool finds."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from nubes.volume.drivers.base import VolumeDriverError, VolumeNotFoundInBackend
from tests.unit.volume.file_driver_world import (
    MiB, data_files, info, make_driver, pool, qemu_io, read_ok, snap, vol, write)  # noqa: F401

GiB = 1024 ** 3
A, B, C = "read -P 0xaa 0 1M", "read -P 0xbb 0 1M", "read -P 0xcc 1M 1M"


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
async def test_snapshot_then_volume_from_it_and_revert(pool, fmt):
    d = make_driver(pool, fmt)
    await d.start()
    update = await d.create_volume(vol("v1"))
    assert (pool / "data" / update["provider_location"]).exists()
    assert await d.create_volume(vol("v1")) == update                   # idempotent
    path, f = await d.local_image({"id": "v1"})
    assert f == fmt and info(str(path))["virtual-size"] == GiB
    await write(d, "v1", "write -P 0xaa 0 1M")
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))                # idempotent
    await write(d, "v1", "write -P 0xbb 0 1M")
    # A raw volume became a qcow2 overlay on its frozen raw file.
    path, f = await d.local_image({"id": "v1"})
    assert f == "qcow2" and info(str(path))["backing-filename-format"] == fmt

    await d.create_volume_from_snapshot(vol("v2"), snap("s1", "v1"))
    assert await read_ok(d, "v2", A)
    assert await read_ok(d, "v1", B)
    await d.revert_to_snapshot(vol("v1"), snap("s1", "v1"))
    assert await read_ok(d, "v1", A)
    # An image of the volume is its guest-visible bytes, through the chain.
    out = pool.parent / f"v1.{fmt}.img"
    await d.copy_volume_to_image(vol("v1"), out, "qcow2")
    assert info(str(out)).get("backing-filename") is None
    qemu_io(str(out), "qcow2", A)
    # v2 is untouched by writes to v1 and the other way round.
    await write(d, "v2", "write -P 0xcc 1M 1M")
    assert not await read_ok(d, "v1", C)
    assert sorted(await d.list_volumes()) == ["v1", "v2"] and await d.list_snapshots() == ["s1"]


async def test_clone_of_a_volume_copies_nothing_and_is_independent(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("src", 1))
    await write(d, "src", "write -P 0xaa 0 1M")
    await d.create_cloned_volume(vol("cl", 2), vol("src", 1))
    assert await d.create_cloned_volume(vol("cl", 2), vol("src", 1))  # idempotent
    path, _ = await d.local_image({"id": "cl"})
    assert info(str(path))["virtual-size"] == 2 * GiB and "backing-filename" in info(str(path))
    assert await read_ok(d, "cl", A)
    await write(d, "src", "write -P 0xbb 0 1M")
    assert await read_ok(d, "cl", A) and await read_ok(d, "src", B)
    assert await d.list_snapshots() == []                 # the clone's snapshot is internal
    # Deleting the source keeps what the clone needs (and folds the clone onto it).
    await d.delete_volume(vol("src"))
    assert await read_ok(d, "cl", A) and len(data_files(pool)) == 1
    path, _ = await d.local_image({"id": "cl"})
    assert "backing-filename" not in info(str(path)) and info(str(path))["virtual-size"] == 2 * GiB
    await d.delete_volume(vol("cl"))
    assert data_files(pool) == set()


async def test_delete_snapshot_with_and_without_dependents(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    await d.create_volume_from_snapshot(vol("v2"), snap("s1", "v1"))
    await write(d, "v1", "write -P 0xbb 0 1M")
    await d.create_snapshot(snap("s2", "v1"), vol("v1"))
    await write(d, "v1", "write -P 0xcc 1M 1M")
    before = data_files(pool)
    # s1 has dependents (v1's chain, v2): its data stays.
    await d.delete_snapshot(snap("s1", "v1"), vol("v1"))
    await d.delete_snapshot(snap("s1", "v1"), vol("v1"))                # idempotent
    assert await d.list_snapshots() == ["s2"] and data_files(pool) == before
    assert await read_ok(d, "v2", A) and await read_ok(d, "v1", B) and await read_ok(d, "v1", C)
    # A snapshot nothing depends on any more goes with its file.
    await d.revert_to_snapshot(vol("v1"), snap("s2", "v1"))
    await d.delete_volume(vol("v1"))
    await d.delete_snapshot(snap("s2", "v1"), vol("v1"))
    assert await read_ok(d, "v2", A)
    await d.delete_volume(vol("v2"))
    await d.delete_volume(vol("v2"))                                    # idempotent
    assert data_files(pool) == set() and await d.list_volumes() == []


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
async def test_deleting_the_newest_snapshot_folds_the_overlay_back(pool, fmt):
    d = make_driver(pool, fmt)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    await write(d, "v1", "write -P 0xcc 1M 1M")
    await d.extend_volume(vol("v1"), 2)
    await d.delete_snapshot(snap("s1", "v1"), vol("v1"))
    path, f = await d.local_image({"id": "v1"})
    assert f == fmt and "backing-filename" not in info(str(path))
    assert info(str(path))["virtual-size"] == 2 * GiB and len(data_files(pool)) == 1
    assert await read_ok(d, "v1", A) and await read_ok(d, "v1", C)
    # Not while something else is built on the snapshot's file, nor while exported.
    await d.create_snapshot(snap("s2", "v1"), vol("v1"))
    await d.create_volume_from_snapshot(vol("v2"), snap("s2", "v1"))
    await d.delete_snapshot(snap("s2", "v1"), vol("v1"))
    assert len(data_files(pool)) == 3
    await d.export(vol("v1"), "att", {"host": "storage-1"})
    await d.delete_volume(vol("v2"))
    assert len(data_files(pool)) == 2            # v1 still has the file open: no fold
    await d.unexport(vol("v1"), "att")
    assert await read_ok(d, "v1", A) and await read_ok(d, "v1", C)


async def test_snapshot_of_a_full_volume_writes_little(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("big", 1))
    await write(d, "big", "write -P 0x5a 0 256M")
    before = sum(os.stat(pool / "data" / n).st_blocks * 512 for n in data_files(pool))
    await d.create_snapshot(snap("s", "big"), vol("big"))
    await d.create_cloned_volume(vol("cl", 1), vol("big", 1))
    await d.create_volume_from_snapshot(vol("fs", 1), snap("s", "big"))
    after = sum(os.stat(pool / "data" / n).st_blocks * 512 for n in data_files(pool))
    assert before >= 256 * MiB
    assert after - before < 4 * MiB                  # three empty overlays, whatever the data
    assert await read_ok(d, "cl", "read -P 0x5a 255M 1M")


async def test_extend_offline_and_shrink_refused(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    await d.extend_volume(vol("v1"), 3)
    path, _ = await d.local_image({"id": "v1"})
    assert info(str(path))["virtual-size"] == 3 * GiB and await read_ok(d, "v1", A)
    await d.extend_volume(vol("v1", 3), 3)
    with pytest.raises(VolumeDriverError, match="cannot shrink"):
        await d.extend_volume(vol("v1", 3), 2)
    assert info(str(path))["virtual-size"] == 3 * GiB


async def test_local_export_is_the_file_and_extend_only_records(pool):
    d = make_driver(pool, host="storage-1")
    await d.start()
    await d.create_volume(vol("v1"))
    conn = await d.export(vol("v1"), "att1", {"host": "storage-1", "ip": "127.0.0.1"})
    path, fmt = await d.local_image({"id": "v1"})
    assert conn == {"driver_volume_type": "file", "data": {
        "path": str(path), "format": fmt, "read_only": False, "volume_id": "v1"}}
    assert await d.export(vol("v1"), "att1", {"host": "storage-1"}) == conn
    assert await d.list_exports() == [("v1", "att1")]
    # The hypervisor holding the file grows it; the driver leaves the file alone ...
    await d.extend_volume(vol("v1"), 2)
    assert info(str(path))["virtual-size"] == GiB
    with pytest.raises(VolumeDriverError, match="hypervisor"):
        await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    # ... and grows it once nothing has it open, if the hypervisor did not.
    await d.unexport(vol("v1"), "att1")
    await d.unexport(vol("v1"), "att1")                                 # idempotent
    assert info(str(path))["virtual-size"] == 2 * GiB and await d.list_exports() == []


async def test_images_in_and_out(pool, tmp_path):
    d = make_driver(pool)
    await d.start()
    img = tmp_path / "img.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(img), "64M"], check=True)
    qemu_io(str(img), "qcow2", "write -P 0xaa 0 1M")
    await d.create_volume(vol("v1", 1))
    await d.copy_image_to_volume(vol("v1", 1), img, "qcow2")
    path, fmt = await d.local_image({"id": "v1"})
    assert info(str(path))["virtual-size"] == GiB and await read_ok(d, "v1", A)
    out = tmp_path / "out.raw"
    await d.copy_volume_to_image(vol("v1"), out, "raw")
    assert out.stat().st_size == GiB
    qemu_io(str(out), "raw", A)
    # The given format is used, never probed: a qcow2 file called raw is copied as raw bytes.
    await d.create_volume(vol("v2", 1))
    await d.copy_image_to_volume(vol("v2", 1), img, "raw")
    assert not await read_ok(d, "v2", A)
    bad = tmp_path / "bad.qcow2"
    bad.write_bytes(b"QFI\xfb" + b"\0" * 100)
    with pytest.raises(VolumeDriverError, match=r"bad.qcow2 failed \(qemu-img exit 1\): .*qcow2"):
        await d.copy_image_to_volume(vol("v2", 1), bad, "qcow2")
    secret = tmp_path / "secret.raw"
    secret.write_bytes(b"host secret" * 1000)
    sneaky = tmp_path / "sneaky.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(secret), "-F", "raw", str(sneaky)],
                   check=True)
    with pytest.raises(VolumeDriverError, match="another file"):
        await d.copy_image_to_volume(vol("v2", 1), sneaky, "qcow2")
    big = tmp_path / "big.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(big), "2G"], check=True)
    with pytest.raises(VolumeDriverError, match="larger than"):
        await d.copy_image_to_volume(vol("v2", 1), big, "qcow2")
    assert not [p for p in (pool / "data").iterdir() if p.name.startswith(".tmp-")]


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
async def test_snapshot_image_keeps_the_snapshots_bytes(pool, fmt):
    d = make_driver(pool, fmt)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    await write(d, "v1", "write -P 0xbb 0 1M")
    path, f = await d.snapshot_image(snap("s1", "v1"))
    assert f == fmt
    qemu_io(str(path), f, A, read_only=True)          # the snapshot's bytes, not the volume's newer ones
    assert await read_ok(d, "v1", B)
    await d.delete_snapshot(snap("s1", "v1"), vol("v1"))
    with pytest.raises(VolumeNotFoundInBackend):
        await d.snapshot_image(snap("s1", "v1"))


async def test_missing_things(pool):
    d = make_driver(pool)
    await d.start()
    for call in (d.extend_volume(vol("nope"), 2), d.create_snapshot(snap("s", "nope"), vol("nope")),
                 d.create_cloned_volume(vol("c"), vol("nope")), d.local_image(vol("nope")),
                 d.create_volume_from_snapshot(vol("c"), snap("nope", "x")),
                 d.export(vol("nope"), "a", {"host": "x"}),
                 d.copy_volume_to_image(vol("nope"), pool / "x", "raw"), d.snapshot_image(snap("nope", "x"))):
        with pytest.raises(VolumeNotFoundInBackend):
            await call
    await d.create_volume(vol("v1"))
    with pytest.raises(VolumeNotFoundInBackend):
        await d.revert_to_snapshot(vol("v1"), snap("nope", "v1"))
    await d.delete_volume(vol("nope"))
    await d.delete_snapshot(snap("nope", "v1"), vol("v1"))
    await d.unexport(vol("nope"), "a")
    assert await d.list_volumes() == ["v1"]


async def test_capacity(pool):
    d = make_driver(pool, size_gb=10)
    await d.start()
    st = await d.stats()
    assert st.total_capacity_gb <= 10 and st.provisioned_capacity_gb == 0
    await d.create_volume(vol("v1", 4))
    await d.create_volume(vol("v2", 2))
    await write(d, "v1", "write -P 0x11 0 64M")
    await d.create_snapshot(snap("s1", "v1", 4), vol("v1", 4))
    st2 = await d.stats()
    allocated = sum(os.stat(pool / "data" / n).st_blocks * 512 for n in data_files(pool))
    assert st2.provisioned_capacity_gb == 10 and st2.allocated_capacity_gb == 6
    assert abs(st2.free_capacity_gb - (st2.total_capacity_gb - allocated / GiB)) < 0.01
    assert st.free_capacity_gb - st2.free_capacity_gb >= 64 / 1024 - 0.001
    vfs = os.statvfs(pool)
    assert st2.total_capacity_gb <= (vfs.f_bavail * vfs.f_frsize + allocated) / GiB + 0.01
    # Sparse: no room is taken by what nothing wrote.
    assert allocated < 80 * MiB


async def test_a_new_driver_finds_the_pool_and_cleans_leftovers(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    await d.create_volume_from_snapshot(vol("v2"), snap("s1", "v1"))
    await d.export(vol("v1"), "att1", {"host": "storage-1"})
    kept = data_files(pool)
    # What a crash leaves: a half-made file, a half-written record, an orphan file (made and
    # renamed, its record never written), a clone's internal snapshot.
    (pool / "data" / ".tmp-deadbeef.qcow2").write_bytes(b"x")
    (pool / "volumes" / ".tmp-v9.json.1234").write_text("{")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(pool / "data" / "orphan.qcow2"), "1G"],
                   check=True)
    rec = json.loads((pool / "snapshots" / "s1.json").read_text())
    (pool / "snapshots" / "clone-x.json").write_text(json.dumps({**rec, "id": "clone-x", "internal": True}))
    d2 = make_driver(pool)
    await d2.start()
    assert sorted(await d2.list_volumes()) == ["v1", "v2"]
    assert await d2.list_snapshots() == ["s1"]
    assert await d2.list_exports() == [("v1", "att1")]
    assert data_files(pool) == kept
    assert not list((pool / "volumes").glob(".tmp-*")) and not (pool / "snapshots" / "clone-x.json").exists()
    assert await read_ok(d2, "v2", A)


async def test_concurrent_operations_on_one_pool(pool):
    import asyncio
    d = make_driver(pool)
    await d.start()
    await asyncio.gather(*(d.create_volume(vol(f"v{i}")) for i in range(20)))
    await write(d, "v0", "write -P 0xaa 0 1M")
    # Snapshots, clones and deletes of one volume and of others at the same time.
    await asyncio.gather(d.create_snapshot(snap("s1", "v0"), vol("v0")),
                         d.create_cloned_volume(vol("c1"), vol("v0")),
                         d.create_cloned_volume(vol("c2"), vol("v0")),
                         *(d.delete_volume(vol(f"v{i}")) for i in range(10, 20)))
    assert sorted(await d.list_volumes()) == sorted([f"v{i}" for i in range(10)] + ["c1", "c2"])
    for vid in ("v0", "c1", "c2"):
        assert await read_ok(d, vid, A)
    await d.create_volume_from_snapshot(vol("f1"), snap("s1", "v0"))
    assert await read_ok(d, "f1", A)
    # Every file on disk is needed by a record, and every file a record needs is there.
    assert data_files(pool) == d.pool.referenced()


async def test_start_refuses_a_bad_format(pool):
    d = make_driver(pool, fmt="vmdk")
    with pytest.raises(VolumeDriverError, match="raw or qcow2"):
        await d.start()


def test_configuration_reaches_the_driver(tmp_path):
    from nubes.volume.conf import VolumeConfig, backends
    from nubes.volume.drivers.file import FileDriver
    from nubes.volume.drivers.registry import make_driver as registry_driver
    conf = VolumeConfig(host="node-7", export_ip="10.1.2.3", backends=[
        {"name": "a", "driver": "file", "nbd_port_min": 11000, "nbd_port_max": 11010},
        {"name": "b", "driver": "file", "format": "raw", "export_ip": "10.9.9.9"}])
    a, b = backends(conf, tmp_path)
    assert (a.host, a.export_ip, a.format, a.nbd_port_min, a.nbd_port_max) == \
        ("node-7", "10.1.2.3", "qcow2", 11000, 11010)
    assert (b.export_ip, b.format, b.pool_dir) == ("10.9.9.9", "raw", tmp_path / "volumes" / "b")
    driver = registry_driver(a)
    assert isinstance(driver, FileDriver) and driver.host == "node-7"
    assert backends(VolumeConfig(), tmp_path)[0].format == "qcow2"
