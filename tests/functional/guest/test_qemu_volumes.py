"""Volumes in real QEMU guests (TCG): hot-plug over QMP, seen and written from inside the guest.

Two guests are booted once for the module (with config drives, so each knows its hostname). The
test guest prints its virtio disks (name, bytes, serial) whenever they change and, on a disk
whose first sector says ``nubes-cmd write TOKEN``, writes ``nubes-data TOKEN by <hostname>`` at
sector 8 (or prints what is there already): so a volume written by guest A and read by guest B
proves its data went where block storage keeps it. The volumes are made as the volume service's
file backend makes them (a qcow2 overlay on a base holding data) and served as its NBD exports
are (``qemu-storage-daemon``).
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import pytest_asyncio

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.base import DriverError, PowerState
from nubes.compute.drivers.qemu import QemuDriver
from nubes.compute.guest import build
from nubes.compute.drivers.qemu.qmp import QMP
from tests import qemu_guest
from tests.cloud import free_port

pytestmark = [pytest.mark.root, pytest.mark.asyncio(loop_scope="module")]

WAIT = 180.0
MiB = 1024 * 1024
DISKS = re.compile(rf"{re.escape(build.MARKER)} disks ?(.*)")


class World:
    def __init__(self, state: Path, images, where: Path) -> None:
        self.state, self.images, self.where = state, images, where
        self.d = self.driver()
        self.a = {"id": str(uuid.uuid4()), "hostname": "vol-a", "config_drive": True,
                  "flavor": {"vcpus": 1, "memory_mb": 128}}
        self.b = {**self.a, "id": str(uuid.uuid4()), "hostname": "vol-b"}

    def driver(self) -> QemuDriver:
        return QemuDriver("qemu-host", ComputeConfig(), state_dir=self.state, images=self.images,
                          unplug_timeout=60.0, boot_settle=0.5)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory):
    files = qemu_guest.guest_files()
    where = tmp_path_factory.mktemp("volumes")
    w = World(where / "state", qemu_guest.guest_images(files, where / "images"), where)
    await w.d.init_host()
    try:
        await asyncio.gather(w.d.spawn(w.a, {"id": "img"}, []), w.d.spawn(w.b, {"id": "img"}, []))
        await asyncio.gather(until(w, w.a, f"{build.MARKER} ready"), until(w, w.b, f"{build.MARKER} ready"))
        yield w
    finally:
        for iid in await w.d.list_instances():
            await w.d.destroy({"id": iid}, [])
        await w.d.close()
        left = qemu_guest.reap(w.state, [])
        assert not left, f"left behind: {left}"


async def until(w: World, inst: dict, text: str, *, after: int = 0) -> str:
    """The console once ``text`` shows after offset ``after`` (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while text not in (console := await w.d.get_console_output(inst))[after:]:
        assert loop.time() < deadline, f"no {text!r} on the console:\n{console[-3000:]}"
        await asyncio.sleep(0.25)
    return console


def disks(console: str) -> dict[str, tuple[int, str]]:
    """The guest's virtio disks as it last listed them: {name: (bytes, serial)}."""
    lines = DISKS.findall(console)
    out = {}
    for item in (lines[-1].split() if lines else []):
        if item == "none":
            continue
        name, size, serial = item.split(",", 2)
        out[name] = (int(size), serial)
    return out


async def disks_until(w: World, inst: dict, check, what: str) -> dict[str, tuple[int, str]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not check(found := disks(console := await w.d.get_console_output(inst))):
        assert loop.time() < deadline, f"the guest never listed {what}:\n{console[-3000:]}"
        await asyncio.sleep(0.25)
    return found


def with_serial(found: dict[str, tuple[int, str]], vid: str) -> str | None:
    return next((n for n, (_s, serial) in found.items() if serial == vid[:20]), None)


def qemu_img(*args: str) -> str:
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True, timeout=60).stdout


def volume_files(where: Path, token: str, size: int = 16 * MiB) -> tuple[Path, Path]:
    """A base holding the write command for the guest, and the volume: a qcow2 overlay on it."""
    base = where / f"base-{token}.raw"
    with open(base, "wb") as fh:
        fh.write(f"nubes-cmd write {token}\n".encode().ljust(512, b"\0"))
        fh.truncate(size)
    overlay = where / f"volume-{token}.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(overlay))
    return base, overlay


def guest_bytes(image: Path, fmt: str, where: Path, offset: int, n: int = 64) -> bytes:
    """What the guest sees at ``offset`` of the volume (its whole chain, read through qemu-img)."""
    out = where / f"read-{uuid.uuid4().hex[:6]}.raw"
    qemu_img("convert", "-U", "-f", fmt, "-O", "raw", str(image), str(out))
    try:
        with open(out, "rb") as fh:
            fh.seek(offset)
            return fh.read(n)
    finally:
        out.unlink()


def file_conn(vid: str, path: Path, fmt: str = "qcow2") -> dict:
    return {"volume_id": vid, "driver_volume_type": "file",
            "data": {"path": str(path), "format": fmt, "read_only": False, "volume_id": vid}}


async def test_a_qcow2_volume_written_in_one_guest_is_read_in_another(world):
    w = world
    vid = str(uuid.uuid4())
    base, overlay = volume_files(w.where, "tok-file")
    conn = file_conn(vid, overlay)

    await w.d.attach_volume(w.a, conn, "/dev/vdc")
    found = await disks_until(w, w.a, lambda f: with_serial(f, vid), "the volume")
    dev = with_serial(found, vid)
    assert found[dev][0] == 16 * MiB
    await until(w, w.a, f"disk-wrote {dev} nubes-data tok-file by vol-a")
    await w.d.attach_volume(w.a, conn, "/dev/vdc")                     # attached already: nothing
    with pytest.raises(DriverError):                                   # the mountpoint holds another
        await w.d.attach_volume(w.a, file_conn(str(uuid.uuid4()), overlay), "/dev/vdc")
    # held by guest A, the file is locked: guest B cannot open it too
    with pytest.raises(DriverError) as err:
        await w.d.attach_volume(w.b, conn, "/dev/vdc")
    assert "lock" in err.value.message
    assert vid not in json.dumps(json.loads((w.state / "compute" / "instances" / w.b["id"] / "state.json")
                                            .read_text())["volumes"])

    await w.d.detach_volume(w.a, conn, "/dev/vdc")
    await disks_until(w, w.a, lambda f: not with_serial(f, vid), "the volume gone")
    await w.d.detach_volume(w.a, conn, "/dev/vdc")                     # detached already: nothing
    assert guest_bytes(overlay, "qcow2", w.where, 4096).startswith(b"nubes-data tok-file by vol-a\n")
    assert base.read_bytes()[4096:4160] == b"\0" * 64                   # the write went to the overlay

    mark = len(await w.d.get_console_output(w.b))
    await w.d.attach_volume(w.b, conn, "/dev/vdc")
    console = await until(w, w.b, "disk-data", after=mark)
    dev = with_serial(disks(console), vid)
    assert f"disk-data {dev} nubes-data tok-file by vol-a" in console[mark:]
    assert "disk-wrote" not in console[mark:]

    # online extend: the guest sees the new size
    await w.d.extend_volume(w.b, conn, 32 * MiB)
    await disks_until(w, w.b, lambda f: (f.get(with_serial(f, vid) or "") or (0,))[0] == 32 * MiB, "32 MiB")
    assert json.loads(qemu_img("info", "-U", "--output=json", str(overlay)))["virtual-size"] == 32 * MiB
    await w.d.extend_volume(w.b, conn, 32 * MiB)                      # extended already: nothing
    with pytest.raises(DriverError):                                   # never shrunk
        await w.d.extend_volume(w.b, conn, 16 * MiB)

    # the volume survives a power cycle and an agent restart
    await w.d.power_off(w.b)
    assert PowerState((await w.d.get_info(w.b["id"])).power_state) == PowerState.SHUTDOWN
    mark = len(await w.d.get_console_output(w.b))
    await w.d.power_on(w.b)
    console = await until(w, w.b, "disk-data", after=mark)
    assert "nubes-data tok-file by vol-a" in console[mark:]
    await w.d.close()
    w.d = w.driver()
    await w.d.init_host()
    await w.d.detach_volume(w.b, conn, "/dev/vdc")
    await disks_until(w, w.b, lambda f: not with_serial(f, vid), "the volume gone")
    assert overlay.exists() and base.exists()


async def test_an_nbd_export_attached_to_a_stopped_then_running_guest(world):
    w = world
    vid = str(uuid.uuid4())
    raw = w.where / "nbd-volume.raw"
    with open(raw, "wb") as fh:
        fh.write(b"nubes-cmd write tok-nbd\n".ljust(512, b"\0"))
        fh.truncate(8 * MiB)
    port, mon = free_port(), w.where / "qsd.sock"
    daemon = subprocess.Popen(
        ["qemu-storage-daemon",
         "--blockdev", f"driver=file,node-name=proto,filename={raw}",
         "--blockdev", "driver=raw,node-name=vol,file=proto",
         "--nbd-server", f"addr.type=inet,addr.host=127.0.0.1,addr.port={port}",
         "--export", "type=nbd,id=exp,node-name=vol,name=vol-export,writable=on",
         "--chardev", f"socket,id=m,path={mon},server=on,wait=off", "--monitor", "chardev=m"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not mon.exists():
            assert daemon.poll() is None and loop.time() < deadline, daemon.stderr.read()
            await asyncio.sleep(0.1)
        conn = {"volume_id": vid, "driver_volume_type": "nbd",
                "data": {"host": "127.0.0.1", "port": port, "export": "vol-export", "format": "raw",
                         "read_only": False, "volume_id": vid}}

        await w.d.power_off(w.a)                                        # attached while stopped ...
        await w.d.attach_volume(w.a, conn, "/dev/vdd")
        mark = len(await w.d.get_console_output(w.a))
        await w.d.power_on(w.a)                                         # ... it is there at power on
        console = await until(w, w.a, "disk-wrote", after=mark)
        dev = with_serial(disks(console), vid)
        # (written early in the boot, before the guest read its hostname from the config drive)
        assert dev and f"disk-wrote {dev} nubes-data tok-nbd by " in console[mark:]
        assert raw.read_bytes()[4096:4096 + 22] == b"nubes-data tok-nbd by "

        # online extend: the volume grows on its server and is exported again (an NBD export's
        # size is fixed when it is made), then the guest is told
        qmp = await QMP.connect(mon)
        try:
            await qmp.execute("block-export-del", {"id": "exp", "mode": "hard"})
            while await qmp.execute("query-block-exports"):
                await asyncio.sleep(0.05)
            await qmp.execute("block_resize", {"node-name": "vol", "size": 12 * MiB})
            await qmp.execute("block-export-add", {"type": "nbd", "id": "exp", "node-name": "vol",
                                                   "name": "vol-export", "writable": True})
        finally:
            await qmp.close()
        await w.d.extend_volume(w.a, conn, 12 * MiB)
        await disks_until(w, w.a, lambda f: (f.get(with_serial(f, vid) or "") or (0,))[0] == 12 * MiB, "12 MiB")

        await w.d.detach_volume(w.a, conn, "/dev/vdd")
        await disks_until(w, w.a, lambda f: not with_serial(f, vid), "the volume gone")
        await w.d.detach_volume(w.a, conn, "/dev/vdd")
    finally:
        daemon.kill()
        daemon.wait()


async def test_boot_from_a_volume(world):
    w = world
    vid = str(uuid.uuid4())
    # the volume: a qcow2 overlay of the test guest's root disk, whose first sector asks for a write
    base = w.where / "bfv-base.raw"
    shutil.copy(w.where / "images" / "root.raw", base)
    with open(base, "r+b") as fh:
        fh.write(b"nubes-cmd write tok-boot\n")
    overlay = w.where / "bfv.qcow2"
    qemu_img("create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(overlay))
    inst = {"id": str(uuid.uuid4()), "hostname": "vol-boot", "flavor": {"vcpus": 1, "memory_mb": 128, "root_gb": 0}}
    bdm = {"boot_index": 0, "device_name": "/dev/vda", "source_type": "volume", "destination_type": "volume",
           "volume_id": vid, "delete_on_termination": False,
           "connection_info": {"driver_volume_type": "file",
                               "data": {"path": str(overlay), "format": "qcow2", "read_only": False}}}
    await w.d.spawn(inst, {"id": "img"}, [], block_devices=[bdm])
    try:
        found = await disks_until(w, inst, lambda f: with_serial(f, vid), "the root volume")
        assert with_serial(found, vid) == "vda" and len(found) == 1       # no local root disk
        await until(w, inst, "disk-wrote vda nubes-data tok-boot")
        gdir = w.state / "compute" / "instances" / inst["id"]
        assert not (gdir / "disk").exists()
        cmd = json.loads((gdir / "cmdline.json").read_text())
        assert any('"bootindex": 1' in a and vid in a for a in cmd)
        assert (await w.d.get_diagnostics(inst))["num_disks"] == 1
        with pytest.raises(DriverError):
            await w.d.detach_volume(inst, {"volume_id": vid}, "/dev/vda")
    finally:
        await w.d.destroy(inst, [])
    assert overlay.exists() and base.exists()                          # the volume is not the driver's
    assert guest_bytes(overlay, "qcow2", w.where, 4096).startswith(b"nubes-data tok-boot by")


async def test_a_restarted_driver_finishes_what_a_killed_one_left(world):
    """An agent killed after recording an attach (before plugging) or after unplugging (before
    forgetting it): the next ``init_host`` makes the guest match its recorded state."""
    w = world
    vid = str(uuid.uuid4())
    _base, overlay = volume_files(w.where, "tok-restart")
    await w.d.close()
    path = w.state / "compute" / "instances" / w.a["id"] / "state.json"
    state = json.loads(path.read_text())
    state["volumes"].append({"volume_id": vid, "mountpoint": "/dev/vde", "boot_index": None,
                             "connection": file_conn(vid, overlay) | {"data": {"path": str(overlay), "format": "qcow2",
                                                                             "read_only": False}}})
    path.write_text(json.dumps(state))
    w.d = w.driver()
    await w.d.init_host()
    await disks_until(w, w.a, lambda f: with_serial(f, vid), "the volume plugged by init_host")
    await w.d.close()
    state["volumes"] = [v for v in state["volumes"] if v["volume_id"] != vid]
    path.write_text(json.dumps(state))
    w.d = w.driver()
    await w.d.init_host()
    await disks_until(w, w.a, lambda f: not with_serial(f, vid), "the volume unplugged by init_host")


async def test_a_read_only_volume_cannot_be_written_by_the_guest(world):
    w = world
    vid = str(uuid.uuid4())
    _base, overlay = volume_files(w.where, "tok-ro")
    conn = file_conn(vid, overlay)
    conn["data"]["read_only"] = True
    mark = len(await w.d.get_console_output(w.a))
    await w.d.attach_volume(w.a, conn, "/dev/vdf")
    console = await until(w, w.a, "disk-write", after=mark)
    dev = with_serial(disks(console), vid)
    assert dev and f"disk-write-failed {dev}" in console[mark:]
    await w.d.detach_volume(w.a, conn, "/dev/vdf")
    await disks_until(w, w.a, lambda f: not with_serial(f, vid), "the volume gone")
    assert guest_bytes(overlay, "qcow2", w.where, 4096) == b"\0" * 64
