"""Volumes in the compute drivers without a hypervisor: the fake driver's bookkeeping (what scale
tests rely on) and the qemu driver's reading of connection info and block devices."""

from __future__ import annotations

import json
import uuid

import pytest

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.base import DriverError, SpawnFailed
from nubes.compute.drivers.fake import FakeDriver
from nubes.compute.drivers.qemu import volumes
from nubes.compute.drivers.qemu.driver import volume_bdms


def conn(vid: str, path: str = "/srv/volumes/v.qcow2") -> dict:
    return {"volume_id": vid, "driver_volume_type": "file",
            "data": {"path": path, "format": "qcow2", "read_only": False, "volume_id": vid}}


def bdm(vid: str, boot: int | None, device: str) -> dict:
    return {"boot_index": boot, "device_name": device, "source_type": "volume", "destination_type": "volume",
            "volume_id": vid, "delete_on_termination": False,
            "connection_info": {"driver_volume_type": "file", "data": {"path": f"/v/{vid}", "format": "raw"}}}


def inst() -> dict:
    return {"id": str(uuid.uuid4()), "flavor": {"vcpus": 1, "memory_mb": 64, "root_gb": 0}}


async def test_fake_volumes_are_idempotent_bookkeeping_that_outlives_the_process(tmp_path):
    state = tmp_path / "fake.json"
    d = FakeDriver("h", ComputeConfig(), state_file=state)
    await d.init_host()
    root, data = str(uuid.uuid4()), str(uuid.uuid4())
    i = inst()
    await d.spawn(i, {}, [], block_devices=[bdm(root, 0, "/dev/vda"),
                                            {"source_type": "blank", "destination_type": "local", "boot_index": -1}])
    assert (await d.get_diagnostics(i))["num_disks"] == 1            # the root volume, no local disk
    await d.attach_volume(i, conn(data), "/dev/vdb")
    await d.attach_volume(i, conn(data), "/dev/vdc")                 # attached already: nothing
    assert (await d.get_diagnostics(i))["num_disks"] == 2
    with pytest.raises(DriverError):
        await d.attach_volume(i, conn(str(uuid.uuid4())), "/dev/vdb")   # the mountpoint holds another
    with pytest.raises(DriverError):
        await d.detach_volume(i, conn(root), "/dev/vda")             # the root disk stays
    await d.extend_volume(i, conn(data), 2 * 1024 ** 3)
    with pytest.raises(DriverError):
        await d.extend_volume(i, conn(str(uuid.uuid4())), 1)
    assert "new size 4194304 512-byte" in await d.get_console_output(i)

    again = FakeDriver("h", ComputeConfig(), state_file=state)       # a restarted agent
    await again.init_host()
    saved = json.loads(state.read_text())["guests"][0]
    assert saved["volumes"] == {"/dev/vda": root, "/dev/vdb": data} and saved["boot_volume"] == root
    await again.detach_volume(i, {"volume_id": data}, "/dev/vdb")
    await again.detach_volume(i, {"volume_id": data}, "/dev/vdb")    # detached already: nothing
    assert (await again.get_diagnostics(i))["num_disks"] == 1
    await again.suspend(i)
    with pytest.raises(DriverError):
        await again.attach_volume(i, conn(data), "/dev/vdb")
    with pytest.raises(SpawnFailed):                                  # a volume nobody attached here
        await again.spawn(inst(), {}, [], block_devices=[{**bdm(root, 0, "/dev/vda"), "connection_info": None}])


def test_qemu_reads_connection_info_as_block_storage_writes_it():
    vid = str(uuid.uuid4())
    kept = volumes.connection_of({"driver_volume_type": "nbd", "data": {
        "host": "10.0.0.2", "port": "10809", "export": "e1", "format": "raw", "read_only": True, "volume_id": vid}})
    assert kept == {"volume_id": vid, "driver_volume_type": "nbd",
                    "data": {"host": "10.0.0.2", "port": 10809, "export": "e1", "format": "raw", "read_only": True}}
    proto, fmt = volumes.node_args(kept)
    assert proto["driver"] == "nbd" and proto["server"] == {"type": "inet", "host": "10.0.0.2", "port": "10809"}
    assert fmt == {"driver": "raw", "node-name": fmt["node-name"], "file": proto["node-name"], "read-only": True}
    assert len(fmt["node-name"]) <= 31
    dev = volumes.device_args(kept)
    assert dev["serial"] == vid and dev["drive"] == fmt["node-name"]
    for bad in ({"driver_volume_type": "iscsi", "data": {}, "volume_id": vid},
                {"driver_volume_type": "file", "data": {"path": "relative"}, "volume_id": vid},
                {"driver_volume_type": "file", "data": {"path": "/a", "format": "vmdk"}, "volume_id": vid},
                {"driver_volume_type": "nbd", "data": {"host": "h", "port": 0, "export": "e"}, "volume_id": vid},
                {"driver_volume_type": "file", "data": {"path": "/a"}, "volume_id": "bad,id"},
                "not a dict"):
        with pytest.raises(DriverError):
            volumes.connection_of(bad)


def test_qemu_opens_a_multiattach_volume_shared_and_only_raw():
    vid = str(uuid.uuid4())
    raw = {"driver_volume_type": "file", "multiattach": True,
           "data": {"path": "/pool/v.raw", "format": "raw", "volume_id": vid}}
    kept = volumes.connection_of(raw)
    assert kept["data"]["multiattach"] is True
    assert volumes.device_args(kept)["share-rw"] is True
    single = volumes.connection_of({**raw, "multiattach": False})
    assert "share-rw" not in volumes.device_args(single)
    with pytest.raises(DriverError, match="must be raw"):
        volumes.connection_of({**raw, "data": {**raw["data"], "format": "qcow2"}})


def test_qemu_block_devices_put_the_root_volume_first():
    root, data = str(uuid.uuid4()), str(uuid.uuid4())
    got = volume_bdms([bdm(data, None, "/dev/vdb"), {"source_type": "image", "destination_type": "local",
                                                       "boot_index": 0}, bdm(root, 0, "/dev/vda")])
    assert [(v["volume_id"], v["boot_index"]) for v in got] == [(root, 0), (data, None)]
    args = volumes.blockdev_args(got, boot_first=True)
    devices = [json.loads(value) for opt, value in zip(args[::2], args[1::2]) if opt == "-device"]
    assert [(d["serial"], d.get("bootindex")) for d in devices] == [(root, 1), (data, None)]
    with pytest.raises(SpawnFailed):
        volume_bdms([bdm(root, 0, "/dev/vda"), bdm(root, None, "/dev/vdb")])
    with pytest.raises(SpawnFailed):
        volume_bdms([{**bdm(root, 0, "/dev/vda"), "connection_info": None}])
