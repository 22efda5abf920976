"""The qemu driver's test setup: the test guest as Glance-like image records, and clean-up.

``guest_files()`` builds the test guest (``nubes.compute.guest.build``) once per test session,
or skips the test when this machine cannot (not root, no QEMU, the Debian packages missing and
not installable). ``guest_images(files, dir)`` serves it as an image service would: a kernel
(aki), a ramdisk (ari) and a small raw root disk whose ``kernel_id``/``ramdisk_id``/
``os_command_line`` link them, under the ids ``img`` and ``rescue-img``. ``reap(state_dir)``
ends whatever a test left behind under a driver's state directory: QEMU processes, taps.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest

from nubes.compute.drivers.qemu.images import LocalImages
from nubes.compute.guest import build

ROOT_DISK = b"\0" * (1024 * 1024)
_built: dict[str, build.GuestFiles] = {}


def skip_unless_qemu() -> None:
    if os.geteuid() != 0:
        pytest.skip("the qemu driver needs root (tap devices)")
    from nubes.compute.drivers.qemu import usable

    ok, why = usable()
    if not ok:
        pytest.skip(f"the qemu driver cannot run here: {why}")


def guest_files() -> build.GuestFiles:
    skip_unless_qemu()
    if "files" not in _built:
        out = Path(tempfile.mkdtemp(prefix="nubes-test-guest-"))
        atexit.register(shutil.rmtree, out, ignore_errors=True)
        try:
            _built["files"] = build.build(out)
        except (build.GuestBuildError, OSError) as e:
            shutil.rmtree(out, ignore_errors=True)
            pytest.skip(f"cannot build the test guest here: {e}")
    return _built["files"]


def record(image_id: str, data: bytes, disk_format: str, **props: str) -> dict:
    container = disk_format if disk_format in ("aki", "ari") else "bare"
    return {"id": image_id, "name": image_id, "status": "active", "disk_format": disk_format,
            "container_format": container, "size": len(data),
            "checksum": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "os_hash_algo": "sha512", "os_hash_value": hashlib.sha512(data).hexdigest(), **props}


def guest_images(files: build.GuestFiles, where: Path, ids: tuple[str, ...] = ("img", "rescue-img")) -> LocalImages:
    where.mkdir(parents=True, exist_ok=True)
    disk = where / "root.raw"
    disk.write_bytes(ROOT_DISK)
    src = LocalImages()
    src.add(record("guest-kernel", files.kernel.read_bytes(), "aki"), files.kernel)
    src.add(record("guest-ramdisk", files.initramfs.read_bytes(), "ari"), files.initramfs)
    for image_id in ids:
        src.add(record(image_id, ROOT_DISK, "raw", kernel_id="guest-kernel", ramdisk_id="guest-ramdisk",
                       os_command_line=build.COMMAND_LINE), disk)
    return src


def qemu_pids(state_dir: Path) -> list[int]:
    """QEMU processes whose command line names a file under ``state_dir``."""
    needle = str(state_dir).encode()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"qemu-system" in cmd.split(b"\0")[0] and needle in cmd:
            out.append(int(entry.name))
    return out


def reap(state_dir: Path, tap_names: list[str]) -> list[str]:
    """Kill QEMUs and remove taps a test left behind; what was found (empty when clean)."""
    import subprocess

    left = []
    for pid in qemu_pids(state_dir):
        left.append(f"qemu pid {pid}")
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while qemu_pids(state_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    for name in tap_names:
        if Path("/sys/class/net", name).exists():
            left.append(f"tap {name}")
            subprocess.run(["ip", "link", "del", "dev", name], capture_output=True, check=False)
    return left
