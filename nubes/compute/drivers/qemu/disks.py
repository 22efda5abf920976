"""Disk files of a guest, made with ``qemu-img`` (and mkfs/mkswap for blank disks).

- root: a qcow2 overlay on the cached base image (``-b base -F <format>``), grown to the
  flavor's root size (root_gb 0: the image's own virtual size). A base image whose virtual
  size is larger than the flavor's root disk is refused, as Nova does.
- ephemeral: a qcow2 overlay on a cached blank base formatted ext4 (label ``ephemeral0``),
  swap: one on a cached base made by ``mkswap``; both shared by every guest of that size.
- a snapshot: ``qemu-img convert`` of the root disk to a standalone qcow2.

Base images are inspected before they get here (``inspection.py``: their format is their
``disk_format``, no backing or data file, no VMDK descriptor naming other files). Every
``qemu-img`` command names the format of each file it opens (``-f``, ``-F``), so nothing is
ever probed; ``check_base`` asks qemu-img too, with that format, and refuses a backing file
or an external data file it reports.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from nubes.compute.drivers.base import DriverError, SpawnFailed
from nubes.core import qemu_img_limits
from nubes.core.concurrency import run_blocking

FORMATS = {"raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx", "iso", "ami"}
QEMU_FORMAT = {"vhd": "vpc", "iso": "raw", "ami": "raw"}


class CommandFailed(DriverError):
    pass


async def run(*cmd: str, timeout: float = 600.0, limits: Any = None) -> str:
    """Run a command (``limits``: a ``preexec_fn`` setting its resource limits); its stdout, or
    CommandFailed with its own error text."""
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.DEVNULL,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                                                preexec_fn=limits)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise CommandFailed(f"{cmd[0]} {cmd[1] if len(cmd) > 1 else ''} took longer than {timeout:g}s") from None
    if proc.returncode != 0:
        text = (err or out).decode(errors="replace").strip()
        raise CommandFailed(f"{os.path.basename(cmd[0])} failed: {text or f'exit status {proc.returncode}'}")
    return out.decode(errors="replace")


def qemu_format(disk_format: str | None) -> str:
    fmt = (disk_format or "raw").lower()
    if fmt not in FORMATS:
        raise SpawnFailed(f"Disk format {fmt!r} cannot be booted by the qemu driver "
                          f"(one of {', '.join(sorted(FORMATS))}).", retryable=False)
    return QEMU_FORMAT.get(fmt, fmt)


async def info(path: Path, fmt: str, *, qemu_img: str = "qemu-img",
               force_share: bool = False) -> dict[str, Any]:
    """``qemu-img info`` of ``path`` opened as ``fmt`` (never probed: a format is required)."""
    cmd = [qemu_img, "info", "--output=json", "-f", fmt]
    if force_share:
        cmd.append("-U")
    return json.loads(await run(*cmd, str(path), limits=qemu_img_limits.apply))


async def check_base(path: Path, fmt: str, *, qemu_img: str = "qemu-img") -> int:
    """The virtual size of a base image, after checking it is what the image service says."""
    try:
        data = await info(path, fmt, qemu_img=qemu_img)
    except CommandFailed as e:
        raise SpawnFailed(f"The image is not a valid {fmt} disk: {e.message}", retryable=False) from None
    if data.get("backing-filename") or data.get("full-backing-filename"):
        raise SpawnFailed("The image has a backing file of its own; refusing to use it.", retryable=False)
    if ((data.get("format-specific") or {}).get("data") or {}).get("data-file"):
        raise SpawnFailed("The image has an external data file; refusing to use it.", retryable=False)
    return int(data.get("virtual-size") or 0)


async def create_root(disk: Path, base: Path, fmt: str, root_gb: int, *, qemu_img: str = "qemu-img") -> None:
    virtual = await check_base(base, fmt, qemu_img=qemu_img)
    size = root_gb * 1024 ** 3 if root_gb else virtual
    if root_gb and virtual > size:
        raise SpawnFailed(f"Flavor's disk is too small for requested image. Flavor disk is {size} bytes, "
                          f"image is {virtual} bytes.", retryable=False)
    try:
        await run(qemu_img, "create", "-q", "-f", "qcow2", "-b", str(base), "-F", fmt, str(disk), str(size))
    except CommandFailed as e:
        raise SpawnFailed(e.message, retryable=False) from None


async def grow(disk: Path, root_gb: int, *, qemu_img: str = "qemu-img") -> None:
    """Grow ``disk`` to ``root_gb`` (a resize); a disk is never shrunk."""
    size = root_gb * 1024 ** 3
    current = int((await info(disk, "qcow2", qemu_img=qemu_img)).get("virtual-size") or 0)
    if root_gb and size < current:
        raise DriverError(f"Resizing the root disk down from {current} to {size} bytes is not supported.")
    if root_gb and size > current:
        await run(qemu_img, "resize", "-q", "-f", "qcow2", str(disk), str(size))


async def _blank_base(root: Path, name: str, size: int, mk: list[str]) -> Path:
    """A cached blank raw base of ``size`` bytes made by ``mk`` (+ path); made once."""
    base = root / name
    if base.exists():
        return base
    part = base.with_name(f"{base.name}.part-{uuid.uuid4().hex[:8]}")

    def blank() -> None:
        root.mkdir(parents=True, exist_ok=True)
        with open(part, "wb") as fh:
            fh.truncate(size)

    await run_blocking(blank)
    try:
        await run(*mk, str(part))
        os.replace(part, base)
    finally:
        part.unlink(missing_ok=True)
    return base


async def create_ephemeral(disk: Path, cache: Path, gb: int, *, qemu_img: str = "qemu-img") -> None:
    size = gb * 1024 ** 3
    if shutil.which("mkfs.ext4"):
        base = await _blank_base(cache, f"ephemeral_{gb}_ext4", size,
                                 ["mkfs.ext4", "-q", "-F", "-L", "ephemeral0", "-E", "lazy_itable_init=1"])
        await run(qemu_img, "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(disk), str(size))
    else:
        await run(qemu_img, "create", "-q", "-f", "qcow2", str(disk), str(size))


async def create_swap(disk: Path, cache: Path, mb: int, *, qemu_img: str = "qemu-img") -> None:
    size = mb * 1024 ** 2
    if shutil.which("mkswap"):
        base = await _blank_base(cache, f"swap_{mb}", size, ["mkswap", "-q"])
        await run(qemu_img, "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "raw", str(disk), str(size))
    else:
        await run(qemu_img, "create", "-q", "-f", "qcow2", str(disk), str(size))


async def convert(disk: Path, out: Path, *, qemu_img: str = "qemu-img", force_share: bool = False) -> int:
    """Write ``disk`` (with its backing chain) as a standalone, compact qcow2; its size in bytes."""
    cmd = [qemu_img, "convert", "-q", "-f", "qcow2", "-O", "qcow2"]
    if force_share:
        cmd.append("-U")
    await run(*cmd, str(disk), str(out))
    return out.stat().st_size


async def rebase(disk: Path, base: Path, fmt: str, *, qemu_img: str = "qemu-img") -> None:
    """Point a copied overlay at ``base`` (same content, another path): an unsafe rebase."""
    await run(qemu_img, "rebase", "-q", "-u", "-f", "qcow2", "-b", str(base), "-F", fmt, str(disk))
