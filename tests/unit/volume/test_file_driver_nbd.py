"""The file backend's NBD exports: a qemu-storage-daemon per attachment, read and written over
NBD, live snapshots and resizes through its QMP, found again by a new driver, stopped by
unexport. Every daemon a test starts is killed by the ``pool`` fixture's finalizer."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from nubes.volume.drivers import nbd_exports
from nubes.volume.drivers.base import VolumeDriverError
from tests.unit.volume.file_driver_world import (
    daemons_of, info, make_driver, nbd_url, pattern_fails, pool, qemu_io, read_ok, snap, vol,  # noqa: F401
    write)

GiB = 1024 ** 3
REMOTE = {"host": "compute-2", "ip": "127.0.0.2"}


async def test_nbd_read_write_and_live_snapshot(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    conn = await d.export(vol("v1"), "att1", REMOTE)
    assert conn["driver_volume_type"] == "nbd"
    assert conn["data"]["host"] == "127.0.0.1" and conn["data"]["format"] == "raw"
    assert conn["data"]["read_only"] is False and conn["data"]["volume_id"] == "v1"
    assert await d.export(vol("v1"), "att1", REMOTE) == conn                # idempotent
    assert len(daemons_of(pool)) == 1
    url = nbd_url(conn)
    assert info(url)["virtual-size"] == GiB
    qemu_io(url, "raw", "read -P 0xaa 0 1M", "write -P 0xbb 0 1M")
    # Live: what was written over NBD is in the snapshot, what comes after is not.
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))
    qemu_io(url, "raw", "read -P 0xbb 0 1M", "write -P 0xcc 0 1M")
    await d.create_volume_from_snapshot(vol("v2"), snap("s1", "v1"))
    assert await read_ok(d, "v2", "read -P 0xbb 0 1M")
    # A second live snapshot on the daemon's new top node, then a clone (internal snapshot).
    await d.create_snapshot(snap("s2", "v1"), vol("v1"))
    qemu_io(url, "raw", "write -P 0xdd 0 1M")
    await d.create_cloned_volume(vol("v3"), vol("v1"))
    qemu_io(url, "raw", "write -P 0xee 0 1M")
    await d.create_volume_from_snapshot(vol("v4"), snap("s2", "v1"))
    assert await read_ok(d, "v4", "read -P 0xcc 0 1M")
    assert await read_ok(d, "v3", "read -P 0xdd 0 1M")
    # An attached volume can be uploaded (read without its lock).
    await d.copy_volume_to_image(vol("v1"), pool.parent / "up.raw", "raw")
    qemu_io(str(pool.parent / "up.raw"), "raw", "read -P 0xee 0 1M")
    await d.unexport(vol("v1"), "att1")
    assert daemons_of(pool) == [] and await d.list_exports() == []
    assert not [p for p in (pool / "exports").iterdir()]
    # The daemon flushed everything: the file holds the last write.
    assert await read_ok(d, "v1", "read -P 0xee 0 1M")


async def test_extend_through_the_export(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    conn = await d.export(vol("v1"), "att1", REMOTE)
    url = nbd_url(conn)
    qemu_io(url, "raw", "write -P 0xaa 0 1M")
    await d.create_snapshot(snap("s1", "v1"), vol("v1"))       # the top node is the overlay now
    await d.extend_volume(vol("v1"), 3)
    assert info(url)["virtual-size"] == 3 * GiB
    qemu_io(url, "raw", "read -P 0xaa 0 1M", "write -P 0xbb 2G 1M", "read -P 0xbb 2G 1M")
    await d.extend_volume(vol("v1", 3), 4)
    assert info(url)["virtual-size"] == 4 * GiB
    with pytest.raises(VolumeDriverError, match="cannot shrink"):
        await d.extend_volume(vol("v1", 4), 2)
    await d.unexport(vol("v1"), "att1")
    path, _ = await d.local_image({"id": "v1"})
    assert info(str(path))["virtual-size"] == 4 * GiB
    assert await read_ok(d, "v1", "read -P 0xbb 2G 1M")


async def test_read_only_export(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await write(d, "v1", "write -P 0xaa 0 1M")
    conn = await d.export({**vol("v1"), "read_only": True}, "att1", REMOTE)
    assert conn["data"]["read_only"] is True
    url = nbd_url(conn)
    qemu_io(url, "raw", "read -P 0xaa 0 1M", read_only=True)
    assert pattern_fails(url, "raw", "write -P 0xbb 0 1M")


async def test_exports_survive_a_new_driver_and_dead_daemons_are_served_again(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await d.create_volume(vol("v2"))
    c1 = await d.export(vol("v1"), "att1", REMOTE)
    c2 = await d.export(vol("v2"), "att2", REMOTE)
    assert c1["data"]["port"] != c2["data"]["port"]
    await d.stop()
    d2 = make_driver(pool, port=c1["data"]["port"])
    await d2.start()
    assert sorted(await d2.list_exports()) == [("v1", "att1"), ("v2", "att2")]
    assert await d2.export(vol("v1"), "att1", REMOTE) == c1         # the same daemon, found again
    qemu_io(nbd_url(c1), "raw", "write -P 0xaa 0 1M")
    qemu_io(nbd_url(c2), "raw", "write -P 0xbb 0 1M")
    # A daemon that died (the node rebooted) keeps its record: a new driver still lists the
    # export, and ensure_export serves it again where the attachment's connection info points.
    rec = d2.pool.read("exports", "v2__att2")
    os.kill(rec["pid"], signal.SIGKILL)
    for _ in range(200):
        if not nbd_exports.alive(rec):
            break
        await asyncio.sleep(0.05)
    d3 = make_driver(pool)
    await d3.start()
    assert sorted(await d3.list_exports()) == [("v1", "att1"), ("v2", "att2")]
    assert not pattern_fails(nbd_url(c1), "raw", "read -P 0xaa 0 1M")    # never stopped
    await d3.ensure_export(vol("v2"), "att2")
    await d3.ensure_export(vol("v2"), "att2")                             # serving: nothing to do
    assert await d3.export(vol("v2"), "att2", REMOTE) == c2
    assert not pattern_fails(nbd_url(c2), "raw", "read -P 0xbb 0 1M")
    assert len(daemons_of(pool)) == 2
    # Deleting an exported volume stops its daemon.
    await d3.delete_volume(vol("v1"))
    await d3.delete_volume(vol("v2"))
    assert daemons_of(pool) == [] and await d3.list_exports() == []


async def test_an_unrecorded_daemon_is_stopped_at_start(pool):
    d = make_driver(pool)
    await d.start()
    await d.create_volume(vol("v1"))
    await d.create_volume(vol("v2"))
    kept = await d.export(vol("v2"), "att2", REMOTE)
    # The manager died after the daemon started and before its record was written.
    rec = await d._start_nbd("v1", "att1", d.pool.read("volumes", "v1"), True)
    assert len(daemons_of(pool)) == 2
    d2 = make_driver(pool)
    await d2.start()
    assert not nbd_exports.alive(rec)
    assert await d2.list_exports() == [("v2", "att2")]
    qemu_io(nbd_url(kept), "raw", "write -P 0xaa 0 1M")
    assert len(daemons_of(pool)) == 1


async def test_one_writer_per_volume(pool):
    d = make_driver(pool, host="storage-1")
    await d.start()
    await d.create_volume(vol("v1"))
    await d.export(vol("v1"), "att1", REMOTE)
    with pytest.raises(VolumeDriverError, match="already exported over NBD"):
        await d.export(vol("v1"), "att2", {"host": "compute-3"})
    with pytest.raises(VolumeDriverError, match="already exported over NBD"):
        await d.export(vol("v1"), "att3", {"host": "storage-1"})
    await d.create_volume(vol("v2"))
    await d.export(vol("v2"), "att4", {"host": "storage-1"})
    with pytest.raises(VolumeDriverError, match="through a local path"):
        await d.export(vol("v2"), "att5", {"host": "storage-1"})
    with pytest.raises(VolumeDriverError, match="through a local path"):
        await d.export(vol("v2"), "att6", REMOTE)
    with pytest.raises(VolumeDriverError, match="exported"):
        await d.revert_to_snapshot(vol("v1"), snap("s", "v1"))
    assert len(daemons_of(pool)) == 1
