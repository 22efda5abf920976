"""The project's test guest: built from Debian packages, it boots under QEMU (TCG), takes an
address by DHCP and says so on its serial console; registering it links kernel and ramdisk."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from nubes.compute.guest import build, register

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def guest(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("building the test guest installs Debian packages: needs root")
    return build.build(tmp_path_factory.mktemp("guest"))


def _qemu() -> str:
    path = shutil.which("qemu-system-x86_64")
    if path is None:
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "qemu-system-x86"],
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        path = shutil.which("qemu-system-x86_64")
    return path


def test_boots_takes_an_address_and_says_ready(guest, tmp_path):
    console = tmp_path / "console.log"
    # User-mode networking with restrict=on: QEMU's own DHCP server, no traffic leaves the VM.
    proc = subprocess.Popen([_qemu(), "-accel", "tcg", "-m", "128", "-nographic", "-no-reboot",
                             "-kernel", str(guest.kernel), "-initrd", str(guest.initramfs),
                             "-append", build.COMMAND_LINE, "-nic", "user,model=virtio-net-pci,restrict=on",
                             "-serial", f"file:{console}", "-monitor", "none", "-display", "none"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        markers: dict[str, str] = {}
        while time.monotonic() < deadline and "ready" not in markers:
            time.sleep(0.5)
            markers = build.console_markers(console.read_text(errors="replace") if console.exists() else "")
        assert "ready" in markers, console.read_text(errors="replace")[-2000:]
        assert markers["booted"] == guest.kernel_version
        assert markers["dhcp"] == "eth0 10.0.2.15"
        assert markers["metadata"] == "none"
    finally:
        proc.kill()
        proc.wait()


def test_registers_kernel_ramdisk_and_image(guest, tmp_path):
    from tests.cloud import start_cloud, stop_cloud

    (tmp_path / "cloud").mkdir()
    cloud = start_cloud(tmp_path / "cloud", services="identity,image", names=("identity", "image"))
    try:
        first = register.register(guest, tmp_path / "cloud" / "clouds.yaml")
        again = register.register(guest, tmp_path / "cloud" / "clouds.yaml")
        assert again == first
        image = cloud.osc("image", "show", first.image_id)
        props = image["properties"]
        assert props["kernel_id"] == first.kernel_id and props["ramdisk_id"] == first.ramdisk_id
        assert props["os_command_line"] == build.COMMAND_LINE
        assert cloud.osc("image", "show", first.kernel_id)["disk_format"] == "aki"
        assert cloud.osc("image", "show", first.ramdisk_id)["disk_format"] == "ari"
    finally:
        stop_cloud(cloud)
