"""The qemu compute driver on real QEMU (TCG here: nested KVM hangs and the probe says so).

The test guest is registered in a real image service (identity + image in a `nubes up`
subprocess) and booted through the driver from its Glance record (kernel_id, ramdisk_id,
os_command_line): its console shows it ran, read its config drive and saw the port's MAC;
it powers off by the ACPI button, on, reboots soft and hard, snapshots into the image
service, and leaves no process, tap or file when destroyed. Every test ends the QEMUs and
taps it made, even when it fails.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path

import httpx
import pytest

from nubes.compute.conf import ComputeConfig
from nubes.compute.drivers.base import PowerState, SpawnFailed
from nubes.compute.drivers.qemu import QemuDriver, configdrive, host, process
from nubes.compute.drivers.qemu.disks import info
from nubes.compute.guest import build, register
from tests import qemu_guest

pytestmark = pytest.mark.root

BOOT_TIMEOUT = 180.0


@pytest.fixture(scope="module")
def guest():
    return qemu_guest.guest_files()


@pytest.fixture(scope="module")
def image_cloud(guest, tmp_path_factory):
    from tests.cloud import start_cloud, stop_cloud

    where = tmp_path_factory.mktemp("cloud")
    cloud = start_cloud(where, services="identity,image", names=("identity", "image"))
    try:
        yield cloud, register.register(guest, where / "clouds.yaml")
    finally:
        stop_cloud(cloud)


class PasswordTokens:
    """What ServiceClients needs of a token source, from a clouds.yaml cloud's password."""

    def __init__(self, cloud) -> None:
        self.auth = cloud.clouds["nubes"]["auth"]
        self.identity_url = self.auth["auth_url"].rstrip("/").removesuffix("/v3")
        self._token: str | None = None

    async def service_token(self) -> str:
        if self._token is None:
            a = self.auth
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": a["username"], "domain": {"name": a.get("user_domain_name", "Default")},
                "password": a["password"]}}}, "scope": {"project": {
                    "name": a["project_name"], "domain": {"name": a.get("project_domain_name", "Default")}}}}}
            async with httpx.AsyncClient(timeout=30) as c:
                r = await c.post(f"{self.identity_url}/v3/auth/tokens", json=body)
            r.raise_for_status()
            self._token = r.headers["x-subject-token"]
        return self._token

    def forget_service_token(self) -> None:
        self._token = None


@pytest.fixture
async def clean(tmp_path):
    """The state directory of the test's drivers; whatever they left running is ended after."""
    state = tmp_path / "state"
    taps: list[str] = []
    yield state, taps
    left = qemu_guest.reap(state, taps)
    assert not left, f"left behind: {left}"


async def console_until(d: QemuDriver, inst: dict, marker: str, count: int = 1) -> str:
    """The console once ``marker`` shows ``count`` times (bounded by BOOT_TIMEOUT)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOOT_TIMEOUT
    while (console := await d.get_console_output(inst)).count(marker) < count:
        assert loop.time() < deadline, f"no {marker!r} x{count} on the console:\n{console[-3000:]}"
        await asyncio.sleep(0.25)
    return console


async def power(d: QemuDriver, inst: dict) -> PowerState:
    return PowerState((await d.get_info(inst["id"])).power_state)


READY = f"{build.MARKER} ready"
BOOTED = f"{build.MARKER} booted"        # early in a boot: the power cycles wait for this one


async def test_guest_from_the_image_service(image_cloud, clean):
    from nubes.core.clients import ServiceClients

    cloud, reg = image_cloud
    state, taps = clean
    clients = ServiceClients(PasswordTokens(cloud), interface="public")
    d = QemuDriver("qemu-host", ComputeConfig(), state_dir=state, clients=clients, shutdown_timeout=60.0)
    try:
        await d.init_host()
        assert d.accel.name in ("kvm", "tcg") and d.accel.reason
        image = (await clients.request("image", "GET", f"/v2/images/{reg.image_id}")).json()
        assert image["kernel_id"] == reg.kernel_id and image["ramdisk_id"] == reg.ramdisk_id
        port = str(uuid.uuid4())
        vif = {"id": port, "address": "fa:16:3e:0a:0b:0c", "network_id": "net-1", "mtu": 1450,
               "fixed_ips": [{"ip_address": "10.0.0.7", "subnet_id": "sub-1"}]}
        tap = f"tap{port[:11]}"
        taps.append(tap)
        inst = {"id": str(uuid.uuid4()), "hostname": "qemu-guest", "display_name": "qemu guest",
                "image_ref": reg.image_id, "config_drive": True, "metadata": {"role": "test"},
                "user_data": base64.b64encode(b"#!/bin/sh\necho hello").decode(),
                "flavor": {"vcpus": 1, "memory_mb": 192, "root_gb": 1, "ephemeral_gb": 0, "swap": 0}}

        await d.spawn(inst, image, [vif])
        console = await console_until(d, inst, READY)
        marks = build.console_markers(console)
        assert marks["booted"] == (await asyncio.to_thread(build.installed_kernel))[1]
        assert marks["link"] == "eth0 fa:16:3e:0a:0b:0c"              # the port's MAC on the guest's NIC
        assert marks["metadata"] == "config-drive" and marks["hostname"] == "qemu-guest"
        assert marks["user-data"].startswith("#!/bin/sh echo hello")
        assert await power(d, inst) == PowerState.RUNNING
        assert Path("/sys/class/net", tap).exists()
        assert int(Path("/sys/class/net", tap, "mtu").read_text()) == 1450
        drive = configdrive.read_iso(state / "compute" / "instances" / inst["id"] / "disk.config")
        assert drive["__label__"] == b"config-2"
        links = json.loads(drive["openstack/latest/network_data.json"])["links"]
        assert links[0]["id"] == tap and links[0]["ethernet_mac_address"] == vif["address"]
        assert json.loads(drive["openstack/latest/meta_data.json"])["meta"] == {"role": "test"}
        root = await info(state / "compute" / "instances" / inst["id"] / "disk", "qcow2", force_share=True)
        assert root["virtual-size"] == 1024 ** 3                     # a qcow2 overlay on the cached base
        assert Path(root["backing-filename"]).parent == state / "compute" / "images"

        await d.power_off(inst)                                      # the ACPI button, and the guest obeys
        assert await power(d, inst) == PowerState.SHUTDOWN
        assert f"{build.MARKER} power-button" in await d.get_console_output(inst)
        assert qemu_guest.qemu_pids(state) == []
        await d.power_on(inst)
        await console_until(d, inst, BOOTED, 2)
        await d.reboot(inst, hard=False)
        assert await power(d, inst) == PowerState.RUNNING
        assert (await d.get_console_output(inst)).count(f"{build.MARKER} power-button") == 2
        await console_until(d, inst, BOOTED, 3)
        await d.reboot(inst, hard=True)
        await console_until(d, inst, BOOTED, 4)
        assert await power(d, inst) == PowerState.RUNNING

        snap = await d.snapshot(inst)                                # to the image service, as the agent does
        try:
            made = (await clients.request("image", "POST", "/v2/images", json={
                "name": "qemu-snapshot", "disk_format": snap.disk_format,
                "container_format": snap.container_format})).json()
            r = await clients.request("image", "PUT", f"/v2/images/{made['id']}/file",
                                      content=snap.stream(),
                                      headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 204, r.text
        finally:
            await snap.close()
        uploaded = (await clients.request("image", "GET", f"/v2/images/{made['id']}")).json()
        assert uploaded["status"] == "active" and uploaded["size"] == snap.size
        assert not list((state / "compute" / "snapshots").iterdir())
        assert await power(d, inst) == PowerState.RUNNING

        await d.destroy(inst, [vif])
        assert await d.list_instances() == []
        assert qemu_guest.qemu_pids(state) == []
        assert not Path("/sys/class/net", tap).exists()
        assert not (state / "compute" / "instances" / inst["id"]).exists()
    finally:
        for iid in await d.list_instances():
            await d.destroy({"id": iid}, [])
        await clients.close()


def test_the_nubes_guest_command_registers_it(image_cloud, tmp_path):
    import subprocess
    import sys

    cloud, reg = image_cloud
    nubes = [sys.executable, "-m", "nubes.cli"]
    res = subprocess.run([*nubes, "guest", "register", "--clouds-yaml", str(cloud.state_dir / "clouds.yaml"),
                          "--out", str(tmp_path / "g")], capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    # the same build, byte for byte: every image is reused, none uploaded again
    assert f"image {register.NAME} is {reg.image_id} (kernel {reg.kernel_id}, ramdisk {reg.ramdisk_id})" \
        in res.stdout
    assert "Next: openstack" in res.stdout
    assert (tmp_path / "g" / "vmlinuz").exists() and (tmp_path / "g" / "initramfs.gz").exists()
    res = subprocess.run([*nubes, "guest", "register", "--state-dir", str(tmp_path / "none")],
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 1 and "start the cloud first" in res.stdout


async def test_a_restarted_driver_finds_its_guests(guest, tmp_path, clean):
    state, _taps = clean
    images = qemu_guest.guest_images(guest, tmp_path / "images")
    d = QemuDriver("qemu-host", ComputeConfig(), state_dir=state, images=images)
    await d.init_host()
    inst = {"id": str(uuid.uuid4()), "hostname": "again", "flavor": {"vcpus": 1, "memory_mb": 128}}
    try:
        await d.spawn(inst, {"id": "img"}, [])
        await console_until(d, inst, READY)
        await d.close()                                               # the agent exits; the guest runs on
        again = QemuDriver("qemu-host", ComputeConfig(), state_dir=state, images=images)
        await again.init_host()
        assert await again.list_instances() == [inst["id"]]
        assert await power(again, inst) == PowerState.RUNNING
        await again.pause(inst)
        assert await power(again, inst) == PowerState.PAUSED
        await again.destroy(inst, [])
        assert await again.list_instances() == [] and qemu_guest.qemu_pids(state) == []
    finally:
        for iid in await d.list_instances():
            await d.destroy({"id": iid}, [])


async def test_resize_on_the_same_host_grows_the_disk(guest, tmp_path, clean):
    state, _taps = clean
    d = QemuDriver("qemu-host", ComputeConfig(), state_dir=state,
                   images=qemu_guest.guest_images(guest, tmp_path / "images"))
    await d.init_host()
    inst = {"id": str(uuid.uuid4()), "hostname": "resized", "flavor": {"vcpus": 1, "memory_mb": 128, "root_gb": 1}}
    try:
        await d.spawn(inst, {"id": "img"}, [])
        data = await d.migrate_to(inst, "qemu-host")
        bigger = {**inst, "flavor": {"vcpus": 2, "memory_mb": 160, "root_gb": 2}}
        await d.finish_migration(bigger, [], data)
        await console_until(d, bigger, READY)
        assert (await d.get_info(inst["id"])).num_cpus == 2
        disk = state / "compute" / "instances" / inst["id"] / "disk"
        assert (await info(disk, "qcow2", force_share=True))["virtual-size"] == 2 * 1024 ** 3
        await d.confirm_migration(bigger)
        assert not (state / "compute" / "instances" / f"{inst['id']}_resize").exists()
        assert await d.list_instances() == [inst["id"]]
    finally:
        for iid in await d.list_instances():
            await d.destroy({"id": iid}, [])


async def test_a_broken_image_fails_the_spawn_and_leaves_nothing(guest, tmp_path, clean):
    state, _taps = clean
    images = qemu_guest.guest_images(guest, tmp_path / "images")
    junk = tmp_path / "junk.qcow2"
    junk.write_bytes(b"not a disk image" * 64)
    images.add(qemu_guest.record("junk", junk.read_bytes(), "qcow2"), junk)
    d = QemuDriver("qemu-host", ComputeConfig(), state_dir=state, images=images)
    await d.init_host()
    inst = {"id": str(uuid.uuid4()), "flavor": {"vcpus": 1, "memory_mb": 128}}
    with pytest.raises(SpawnFailed) as err:
        await d.spawn(inst, {"id": "junk"}, [])
    assert not err.value.retryable and "qcow2" in err.value.message
    assert await d.list_instances() == []
    assert not (state / "compute" / "instances" / inst["id"]).exists()


def test_the_accelerator_is_probed_once_and_remembered(tmp_path):
    qemu_guest.skip_unless_qemu()
    first = host.accelerator(tmp_path)
    assert first.name in ("kvm", "tcg") and first.reason
    cached = json.loads((tmp_path / "compute" / "accel.json").read_text())
    assert cached["name"] == first.name and cached["boot_id"] and cached["qemu_version"]
    assert host.accelerator(tmp_path) == first
    # what the guests get: KVM only when a probe boot under it worked
    if first.name == "kvm":
        assert first.reason.startswith("probe booted")
    cmd = process.command("qemu-system-x86_64", type("S", (), {
        "id": "x", "vcpus": 1, "memory_mb": 64, "rescue": None, "kernel": None, "initrd": None, "cmdline": None,
        "ephemeral_gb": 0, "swap_mb": 0, "config_drive": False, "vifs": []})(), tmp_path, first, qmp_path="q")
    assert f"pc,accel={first.name}" in cmd
