"""Disk images for the format inspector's tests: made by ``qemu-img`` where it is installed, or by hand."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

GD_AT_END = 0xFFFFFFFFFFFFFFFF


def qemu_img(*args: str) -> str:
    if not shutil.which("qemu-img"):
        # scripts/setup.sh installs qemu-utils where it may (as root on Debian); there, missing is a failure
        if os.geteuid() == 0:
            pytest.fail("qemu-img is missing: scripts/setup.sh --test installs qemu-utils")
        pytest.skip("qemu-img is not installed, and only root may install it (scripts/setup.sh --test as root)")
    return subprocess.run(["qemu-img", *args], check=True, capture_output=True, text=True).stdout


def make(tmp: Path, name: str, fmt: str, size: str = "10M", *options: str) -> Path:
    path = tmp / name
    args = ["create", "-q", "-f", fmt]
    if options:
        args += ["-o", ",".join(options)]
    qemu_img(*args, str(path), size)
    return path


def virtual_size(path: Path, fmt: str) -> int:
    return int(json.loads(qemu_img("info", "--output=json", "-f", fmt, str(path)))["virtual-size"])


def iso(sectors: int = 64, udf: bool = False) -> bytearray:
    """An ISO 9660 image: a primary volume descriptor at 32 KiB, a terminator, (UDF's sequence)."""
    data = bytearray(2048 * sectors)

    def descriptor(sector: int, kind: int, ident: bytes) -> int:
        at = sector * 2048
        data[at] = kind
        data[at + 1:at + 6] = ident
        data[at + 6] = 1
        return at

    pvd = descriptor(16, 1, b"CD001")
    struct.pack_into("<I", data, pvd + 80, sectors)           # volume space size, both byte orders
    struct.pack_into(">I", data, pvd + 84, sectors)
    struct.pack_into("<H", data, pvd + 128, 2048)             # logical block size
    struct.pack_into(">H", data, pvd + 130, 2048)
    descriptor(17, 255, b"CD001")
    if udf:
        descriptor(18, 0, b"BEA01")
        descriptor(19, 0, b"NSR02")
        descriptor(20, 0, b"TEA01")
    return data


def with_footer(sparse: bytes, *, descriptor_offset: int | None = None) -> bytes:
    """A monolithicSparse VMDK turned into one whose header lives in a footer (as VMware writes
    streamOptimized disks): the header says "grain directory at the end", the real header follows
    a footer marker at the end, then the end-of-stream marker."""
    header = bytearray(sparse[:512])
    footer = bytearray(header)
    struct.pack_into("<Q", header, 56, GD_AT_END)
    if descriptor_offset is not None:
        struct.pack_into("<Q", footer, 28, descriptor_offset)
    body = bytearray(sparse)
    body[:512] = header
    if len(body) % 512:
        body += bytes(512 - len(body) % 512)
    marker = struct.pack("<QII", 1, 0, 3).ljust(512, b"\0")
    return bytes(body) + marker + bytes(footer) + bytes(512)


def replace_in_descriptor(vmdk: bytes, old: bytes, new: bytes) -> bytes:
    """Edit the descriptor text embedded at sector 1 (it is NUL-padded, so lengths may differ)."""
    desc_at, desc_sectors = struct.unpack("<QQ", vmdk[28:44])
    start, end = desc_at * 512, (desc_at + desc_sectors) * 512
    text = vmdk[start:end].split(b"\0", 1)[0].replace(old, new)
    assert len(text) <= end - start
    return vmdk[:start] + text.ljust(end - start, b"\0") + vmdk[end:]
