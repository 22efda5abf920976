"""The qemu driver's remote consoles on real QEMU, through the console proxies: QEMU's own VNC server
answers a noVNC client's RFB handshake over the proxy's websocket, and the serial port's TCP
chardev carries a shell session on the guest's getty while ``console.log`` (os-getConsoleOutput)
still gets all the guest prints."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import websockets

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.base import ConsoleUnavailable, PowerState
from nubes.compute.drivers.qemu import QemuDriver, process
from nubes.compute.guest import build
from tests import qemu_guest
from tests.consoles_world import console_world, novnc_websocket, rfb_handshake

pytestmark = pytest.mark.root

BOOT_TIMEOUT = 180.0
READY = f"{build.MARKER} ready"


@pytest.fixture(scope="module")
def guest():
    return qemu_guest.guest_files()


@pytest.fixture
async def clean(tmp_path):
    state = tmp_path / "state"
    yield state
    left = qemu_guest.reap(state, [])
    assert not left, f"left behind: {left}"


async def _console_until(d: QemuDriver, inst: dict, marker: str) -> str:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOOT_TIMEOUT
    while marker not in (console := await d.get_console_output(inst)):
        assert loop.time() < deadline, f"no {marker!r} on the console:\n{console[-3000:]}"
        await asyncio.sleep(0.25)
    return console


def test_the_chardev_port_is_read_from_query_chardev():
    assert process.chardev_port("disconnected:tcp:127.0.0.1:40123,server=on") == 40123
    assert process.chardev_port("tcp:127.0.0.1:40123,server=on <-> 127.0.0.1:51000") == 40123
    assert process.chardev_port("disconnected:tcp:[::1]:40124,server=on") == 40124
    assert process.chardev_port("file") is None


async def _serial_shell(url: str, command: str, marker: bytes) -> bytes:
    """Log in on the guest's serial getty (its login program is a shell) through the proxy, run
    ``command`` and read until ``marker``."""
    got = b""
    async with websockets.connect(url, open_timeout=30) as ws:
        await ws.send(b"root\r")
        await ws.send(command.encode() + b"\r")
        async with asyncio.timeout(BOOT_TIMEOUT):
            while marker not in got:
                got += await ws.recv()
    return got


async def test_vnc_and_serial_of_a_qemu_guest_through_the_proxies(guest, tmp_path, clean):
    state = clean
    conf = ComputeConfig()
    images = qemu_guest.guest_images(guest, tmp_path / "images")
    d = QemuDriver("qemu-host", conf, state_dir=state, images=images)
    await d.init_host()
    inst = {"id": str(uuid.uuid4()), "hostname": "consoled", "flavor": {"vcpus": 1, "memory_mb": 128}}
    try:
        await d.spawn(inst, {"id": "img"}, [])
        await _console_until(d, inst, READY)
        async with console_world(tmp_path, d, inst["id"], conf) as w:
            # the serial console: the guest's getty, both ways through the proxy ...
            serial = await w.state.consoles.open(w.ctx, inst["id"], "serial")
            seen = await _serial_shell(serial.url, "echo serial-$((6*7))", b"serial-42")
            assert b"serial-42" in seen
            # ... and what the guest printed reaches the console log all the same (QEMU writes
            # the log beside the socket, so it may trail what the proxy already relayed)
            log = await _console_until(d, inst, "serial-42")
            assert READY in log
            # VNC: QEMU's own server, its RFB handshake as noVNC makes it
            vnc = await w.state.consoles.open(w.ctx, inst["id"], "novnc")
            async with websockets.connect(novnc_websocket(vnc.url), subprotocols=["binary"],
                                          open_timeout=30) as ws:
                version, width, height, _name = await rfb_handshake(ws)
            assert version == b"RFB 003.008\n" and width > 0 and height > 0
            # a stopped guest has no console
            await d.power_off(inst)
            assert PowerState((await d.get_info(inst["id"])).power_state) == PowerState.SHUTDOWN
            with pytest.raises(ConsoleUnavailable):
                await d.get_console(inst, "vnc")
    finally:
        for iid in await d.list_instances():
            await d.destroy({"id": iid}, [])
