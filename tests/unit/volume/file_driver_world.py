"""What the file driver tests share: a driver over a temporary pool, qemu-io patterns, and
the finalizer that stops every storage daemon a test started."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nubes.volume.conf import BackendConf
from nubes.volume.drivers.file import FileDriver
from tests.cloud import free_port

MiB = 1024 * 1024


def make_driver(pool: Path, fmt: str = "qcow2", size_gb: int = 50, host: str = "storage-1",
                port: int | None = None) -> FileDriver:
    port = port or free_port()
    return FileDriver(BackendConf(name="file", driver="file", pool_dir=pool, size_gb=size_gb,
                                  format=fmt, host=host, export_ip="127.0.0.1",
                                  nbd_port_min=port, nbd_port_max=port + 5))


def daemons_of(pool: Path) -> list[int]:
    """Pids of storage daemons serving files of ``pool`` (whatever the records say)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(b"qemu-storage-daemon") and str(pool).encode() in cmd:
            pids.append(int(proc.name))
    return pids


def kill_daemons(pool: Path) -> None:
    for pid in daemons_of(pool):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while daemons_of(pool) and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def pool(tmp_path):
    p = tmp_path / "pool"
    yield p
    kill_daemons(p)
    shutil.rmtree(make_driver(p)._socket_dir(), ignore_errors=True)


def qemu_io(target: str, fmt: str, *commands: str, read_only: bool = False) -> str:
    argv = ["qemu-io", "-f", fmt] + (["-r"] if read_only else [])
    for c in commands:
        argv += ["-c", c]
    res = subprocess.run([*argv, target], capture_output=True, text=True, timeout=120)
    out = res.stdout + res.stderr
    assert res.returncode == 0 and "failed" not in out.lower(), out
    return out


def pattern_fails(target: str, fmt: str, command: str) -> bool:
    res = subprocess.run(["qemu-io", "-f", fmt, "-c", command, target], capture_output=True,
                         text=True, timeout=120)
    return res.returncode != 0 or "Pattern verification failed" in res.stdout + res.stderr


async def write(driver: FileDriver, vid: str, command: str) -> None:
    path, fmt = await driver.local_image({"id": vid})
    qemu_io(str(path), fmt, command)


async def read_ok(driver: FileDriver, vid: str, command: str) -> bool:
    path, fmt = await driver.local_image({"id": vid})
    return not pattern_fails(str(path), fmt, command)


def info(target: str) -> dict:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", target], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    return json.loads(out)


def nbd_url(conn: dict) -> str:
    return f"nbd://{conn['data']['host']}:{conn['data']['port']}/{conn['data']['export']}"


def data_files(pool: Path) -> set[str]:
    return {p.name for p in (pool / "data").iterdir()}


def vol(vid: str, size: int = 1) -> dict:
    return {"id": vid, "size": size, "provider_location": None, "extra_specs": {}}


def snap(sid: str, vid: str, size: int = 1) -> dict:
    return {"id": sid, "volume_id": vid, "volume_size": size, "provider_location": None}
