"""The compute driver contract (``nubes.compute.drivers.base``), checked on every registered driver.

A driver that needs something this machine lacks (a hypervisor, root) skips itself in
``make``; the fake one always runs. Failure injection is the fake driver's own and is
tested at the end.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers import registry
from nubes.compute.drivers.base import (
    ComputeDriver,
    ConsoleEndpoint,
    ConsoleUnavailable,
    DriverError,
    InstanceInfo,
    InstanceNotFoundInDriver,
    NodeResources,
    PowerState,
    Snapshot,
    SpawnFailed,
)
from nubes.compute.drivers.fake import FakeDriver
from nubes.core.disk_formats import inspect_bytes

DIAGNOSTICS_KEYS = {"state", "driver", "hypervisor", "hypervisor_os", "uptime", "config_drive", "num_cpus",
                    "num_disks", "num_nics", "cpu_details", "memory_details", "disk_details", "nic_details"}


_made: list[tuple[ComputeDriver, Path]] = []       # drivers of the running test, to clean up after it


def make(name: str, host: str, tmp: Path) -> ComputeDriver:
    conf = ComputeConfig()
    if name == "fake":
        d = registry.make_driver(name, host, conf, state_file=tmp / f"{host}.json")
    elif name == "qemu":
        # Real QEMU guests (root, qemu-system-x86_64): the test guest, served as Glance would;
        # short waits for the ACPI button and the first second of a boot keep the run short.
        from tests import qemu_guest

        files = qemu_guest.guest_files()
        d = registry.make_driver(name, host, conf, state_dir=tmp / host,
                                 images=qemu_guest.guest_images(files, tmp / "images"),
                                 shutdown_timeout=30.0, boot_settle=0.5, unplug_timeout=60.0)
    else:
        pytest.skip(f"no test setup for the {name} driver on this machine")
    _made.append((d, tmp / host))
    return d


@pytest.fixture(autouse=True)
async def _clean_up_guests():
    """Every guest a test made is destroyed after it, even when the test failed."""
    _made.clear()
    yield
    for d, state_dir in list(_made):
        try:
            for _ in range(3):                        # a move's two copies take two rounds
                ids = await d.list_instances()
                if not ids:
                    break
                for iid in ids:
                    await d.destroy({"id": iid}, [VIF, VIF2])
        finally:
            if hasattr(d, "close"):
                await d.close()
            if type(d).__name__ == "QemuDriver":
                from tests import qemu_guest

                left = qemu_guest.reap(state_dir, [f"tap{v['id'][:11]}" for v in (VIF, VIF2)])
                assert not left, f"the qemu driver left {left} behind"
    _made.clear()


@pytest.fixture(params=sorted(registry.DRIVERS))
async def driver(request, tmp_path) -> ComputeDriver:
    d = make(request.param, "contract-host", tmp_path)
    await d.init_host()
    return d


def instance(**metadata: str) -> dict:
    return {"id": str(uuid.uuid4()), "hostname": "guest", "display_name": "guest", "image_ref": "img",
            "flavor": {"vcpus": 2, "memory_mb": 256, "root_gb": 1, "ephemeral_gb": 0, "swap": 0},
            "metadata": dict(metadata)}


# Port ids unique to this run: a real driver names host devices after them (tap<id[:11]>).
VIF = {"id": str(uuid.uuid4()), "address": "fa:16:3e:11:22:33", "network_id": "net-1",
       "fixed_ips": [{"ip_address": "10.0.0.5", "subnet_id": "sub-1"}]}
VIF2 = {**VIF, "id": str(uuid.uuid4()), "address": "fa:16:3e:44:55:66"}


async def power(d: ComputeDriver, inst: dict) -> PowerState:
    info = await d.get_info(inst["id"])
    assert isinstance(info, InstanceInfo)
    return PowerState(info.power_state)


async def console_with(d: ComputeDriver, inst: dict, text: str, timeout: float = 180.0) -> str:
    """The console once it shows ``text`` (a real guest takes a while to boot), else what it has."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in (console := await d.get_console_output(inst)) and loop.time() < deadline:
        await asyncio.sleep(0.25)
    return console


async def test_is_a_compute_driver(driver):
    assert isinstance(driver, ComputeDriver)
    res = await driver.node_resources()
    assert isinstance(res, NodeResources)
    assert res.vcpus > 0 and res.memory_mb > 0 and res.local_gb >= 0
    assert isinstance(res.hypervisor_hostname, str) and res.hypervisor_hostname
    assert isinstance(res.cpu_info, dict)
    assert isinstance(await driver.list_instances(), list)
    assert "up" in await driver.get_host_uptime()


async def test_spawn_runs_and_destroy_removes(driver):
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [VIF])
    assert inst["id"] in await driver.list_instances()
    assert await power(driver, inst) == PowerState.RUNNING
    await driver.spawn(inst, {"id": "img"}, [VIF])           # at least once delivery: idempotent
    assert (await driver.list_instances()).count(inst["id"]) == 1
    await driver.destroy(inst, [VIF])
    assert inst["id"] not in await driver.list_instances()
    await driver.destroy(inst, [VIF])                        # already gone: fine
    with pytest.raises(InstanceNotFoundInDriver):
        await driver.get_info(inst["id"])


async def test_power_transitions(driver):
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [])
    await driver.power_off(inst)
    assert await power(driver, inst) == PowerState.SHUTDOWN
    with pytest.raises(DriverError):
        await driver.pause(inst)                             # a stopped guest cannot pause
    await driver.power_on(inst)
    assert await power(driver, inst) == PowerState.RUNNING
    await driver.pause(inst)
    assert await power(driver, inst) == PowerState.PAUSED
    await driver.unpause(inst)
    assert await power(driver, inst) == PowerState.RUNNING
    await driver.suspend(inst)
    assert await power(driver, inst) == PowerState.SUSPENDED
    await driver.resume(inst)
    assert await power(driver, inst) == PowerState.RUNNING
    await driver.reboot(inst, hard=False)
    assert await power(driver, inst) == PowerState.RUNNING
    await driver.power_off(inst)
    await driver.reboot(inst, hard=True)
    assert await power(driver, inst) == PowerState.RUNNING


async def test_rescue_and_unrescue(driver):
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [])
    with pytest.raises(DriverError):
        await driver.unrescue(inst)
    await driver.rescue(inst, {"id": "rescue-img"})
    assert await power(driver, inst) == PowerState.RUNNING
    await driver.unrescue(inst)
    assert await power(driver, inst) == PowerState.RUNNING


async def test_actions_on_a_missing_guest(driver):
    ghost = instance()
    for action in ("power_off", "power_on", "pause", "unpause", "suspend", "resume", "unrescue", "snapshot",
                   "get_console_output", "get_diagnostics"):
        with pytest.raises(InstanceNotFoundInDriver):
            await getattr(driver, action)(ghost)
    with pytest.raises(InstanceNotFoundInDriver):
        await driver.reboot(ghost, hard=True)


async def test_guest_password_and_network_info(driver):
    """changePassword reaches the guest's agent, or says there is none (AgentNotEnabled, a 409);
    injectNetworkInfo succeeds; a missing guest is InstanceNotFoundInDriver for both."""
    from nubes.compute.drivers.base import AgentNotEnabled

    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [VIF])
    try:
        await driver.set_admin_password(inst, "s3cret")
    except AgentNotEnabled as e:
        assert e.message == "QEMU guest agent is not enabled"
    else:
        assert "s3cret" not in await driver.get_console_output(inst)
    await driver.inject_network_info(inst, [VIF])
    ghost = instance()
    with pytest.raises(InstanceNotFoundInDriver):
        await driver.set_admin_password(ghost, "x")
    with pytest.raises(InstanceNotFoundInDriver):
        await driver.inject_network_info(ghost, [])


async def test_console_diagnostics_and_snapshot(driver):
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [VIF])
    console = await console_with(driver, inst, "login:")
    assert isinstance(console, str) and "login:" in console
    diag = await driver.get_diagnostics(inst)
    assert DIAGNOSTICS_KEYS <= set(diag)
    assert diag["state"] == "running" and diag["num_nics"] == 1
    assert diag["nic_details"][0]["mac_address"] == VIF["address"]
    assert diag["memory_details"]["maximum"] == 256
    snap = await driver.snapshot(inst)
    assert isinstance(snap, Snapshot)
    data = b"".join([chunk async for chunk in snap.stream()])
    await snap.close()
    assert data and (snap.size is None or snap.size == len(data))
    # the image service takes it: its data is the disk format it says, and safe
    found = inspect_bytes(data)
    assert found.format == snap.disk_format and found.unsafe == [], found


async def test_remote_consoles(driver):
    """``get_console``: where a proxy reaches the guest's VNC server (it speaks RFB first) and serial
    port (it answers a line); none for a stopped guest, an unknown kind or a missing guest."""
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [VIF])
    assert "login:" in await console_with(driver, inst, "login:")
    vnc = await driver.get_console(inst, "vnc")
    assert isinstance(vnc, ConsoleEndpoint) and vnc.port > 0
    reader, writer = await asyncio.wait_for(asyncio.open_connection(vnc.host, vnc.port), 30)
    try:
        assert await asyncio.wait_for(reader.readexactly(12), 30) == b"RFB 003.008\n"
    finally:
        writer.close()
    serial = await driver.get_console(inst, "serial")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(serial.host, serial.port), 30)
    try:
        writer.write(b"\r\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(4096), 60)
    finally:
        writer.close()
    assert "login:" in await driver.get_console_output(inst)       # the console log is still written
    with pytest.raises(ConsoleUnavailable):
        await driver.get_console(inst, "spice")
    await driver.power_off(inst)
    with pytest.raises(ConsoleUnavailable):
        await driver.get_console(inst, "vnc")
    with pytest.raises(InstanceNotFoundInDriver):
        await driver.get_console(instance(), "vnc")


async def test_interfaces(driver):
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [])
    other = VIF2
    await driver.attach_interface(inst, other)
    await driver.attach_interface(inst, other)               # idempotent
    assert (await driver.get_diagnostics(inst))["num_nics"] == 1
    await driver.detach_interface(inst, other)
    await driver.detach_interface(inst, other)
    assert (await driver.get_diagnostics(inst))["num_nics"] == 0


async def test_volumes(driver, tmp_path):
    # a volume as block storage's file backend hands it out: a qcow2 file on this machine
    import subprocess

    path = tmp_path / "vol-1.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(8 * 1024 ** 2)], check=True)
    inst = instance()
    await driver.spawn(inst, {"id": "img"}, [])
    disks = (await driver.get_diagnostics(inst))["num_disks"]
    vid = str(uuid.uuid4())
    vol = {"volume_id": vid, "driver_volume_type": "file",
           "data": {"path": str(path), "format": "qcow2", "read_only": False, "volume_id": vid}}
    with pytest.raises(InstanceNotFoundInDriver):
        await driver.attach_volume(instance(), vol, "/dev/vdb")
    await driver.attach_volume(inst, vol, "/dev/vdb")
    await driver.attach_volume(inst, vol, "/dev/vdb")                 # idempotent
    assert (await driver.get_diagnostics(inst))["num_disks"] == disks + 1
    with pytest.raises(DriverError):
        await driver.attach_volume(inst, {**vol, "volume_id": str(uuid.uuid4())}, "/dev/vdb")   # the slot is taken
    await driver.extend_volume(inst, vol, 16 * 1024 ** 2)
    with pytest.raises(DriverError):                                  # not attached: nothing to extend
        await driver.extend_volume(inst, {**vol, "volume_id": str(uuid.uuid4())}, 16 * 1024 ** 2)
    await driver.power_off(inst)                                      # kept across a power cycle
    await driver.power_on(inst)
    assert (await driver.get_diagnostics(inst))["num_disks"] == disks + 1
    await driver.detach_volume(inst, vol, "/dev/vdb")
    await driver.detach_volume(inst, vol, "/dev/vdb")
    assert (await driver.get_diagnostics(inst))["num_disks"] == disks
    await driver.destroy(inst, [])
    assert path.exists()                                              # a volume is never the driver's to delete


@pytest.mark.parametrize("live", [False, True])
async def test_move_between_hosts(tmp_path, live):
    for name in sorted(registry.DRIVERS):
        src, dst = make(name, "src-host", tmp_path), make(name, "dst-host", tmp_path)
        await src.init_host()
        await dst.init_host()
        inst = instance()
        await src.spawn(inst, {"id": "img"}, [VIF])
        if live and not getattr(src, "supports_live_migration", True):
            with pytest.raises(DriverError):                 # said honestly, the guest untouched
                await src.migrate_to(inst, "dst-host", live=True)
            assert await power(src, inst) == PowerState.RUNNING
            continue
        data = await src.migrate_to(inst, "dst-host", live=live)
        assert data == json.loads(json.dumps(data))          # it travels on the bus
        assert await power(src, inst) == (PowerState.RUNNING if live else PowerState.SHUTDOWN)
        bigger = {**inst, "flavor": {**inst["flavor"], "vcpus": 4}}
        await dst.finish_migration(bigger, [VIF], data)
        assert await power(dst, inst) == PowerState.RUNNING
        assert (await dst.get_diagnostics(inst))["num_cpus"] == 4
        if live:
            await src.confirm_migration(inst)
            assert inst["id"] not in await src.list_instances()
        else:                                                 # a reverted resize: the source comes back
            await dst.destroy(bigger, [VIF])
            await src.revert_migration(inst, [VIF])
            assert await power(src, inst) == PowerState.RUNNING
            assert inst["id"] not in await dst.list_instances()


# -- the fake driver's own ---------------------------------------------------------------------
async def test_fake_failure_injection(tmp_path):
    d = FakeDriver("host-a", ComputeConfig())
    with pytest.raises(SpawnFailed) as err:
        await d.spawn(instance(fake_fail="spawn"), {}, [])
    assert err.value.retryable
    await d.spawn(instance(fake_fail="spawn", fake_fail_hosts="host-b,host-c"), {}, [])   # not this host
    inst = instance(fake_fail="power_off, reboot", fake_fail_hosts="host-a")
    await d.spawn(inst, {}, [])
    with pytest.raises(DriverError) as err:
        await d.power_off(inst)
    assert err.value.retryable and "power_off" in err.value.message
    with pytest.raises(DriverError):
        await d.reboot(inst, hard=True)
    await d.pause(inst)
    assert await power(d, inst) == PowerState.PAUSED


async def test_fake_sizes_and_restart(tmp_path):
    conf = ComputeConfig(fake_vcpus=8, fake_memory_mb=4096, fake_disk_gb=50)
    d = FakeDriver("host-a", conf, state_file=tmp_path / "a.json")
    res = await d.node_resources()
    assert (res.vcpus, res.memory_mb, res.local_gb, res.hypervisor_hostname) == (8, 4096, 50, "host-a")
    inst = instance()
    await d.spawn(inst, {"id": "img"}, [VIF])
    await d.power_off(inst)
    again = FakeDriver("host-a", conf, state_file=tmp_path / "a.json")      # the agent restarted
    await again.init_host()
    assert await again.list_instances() == [inst["id"]]
    assert await power(again, inst) == PowerState.SHUTDOWN
    assert "Power down" in await again.get_console_output(inst)


async def test_fake_concurrent_spawns_all_saved(tmp_path):
    # Builds on one host run at once; their state-file saves must neither collide nor lose one.
    conf = ComputeConfig()
    d = FakeDriver("host-a", conf, state_file=tmp_path / "a.json")
    insts = [instance() for _ in range(12)]
    await asyncio.gather(*(d.spawn(i, {"id": "img"}, [VIF]) for i in insts))
    again = FakeDriver("host-a", conf, state_file=tmp_path / "a.json")
    await again.init_host()
    assert await again.list_instances() == sorted(i["id"] for i in insts)
