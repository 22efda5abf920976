"""Disk format facts read from image data: the virtual size of qcow2 and raw images.

A qcow2 file starts with the magic ``QFI\\xfb``, a big-endian version, the backing file
offset and size, the cluster bits, and at offset 24 the virtual disk size as a
big-endian unsigned 64-bit integer. A raw image's virtual size is its size. Other
formats are not inspected (Glance then reports ``virtual_size: null``).
"""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator

QCOW2_MAGIC = b"QFI\xfb"
HEADER_BYTES = 32


def qcow2_virtual_size(header: bytes) -> int | None:
    if len(header) < HEADER_BYTES or header[:4] != QCOW2_MAGIC:
        return None
    version = struct.unpack(">I", header[4:8])[0]
    if version not in (1, 2, 3):
        return None
    return int(struct.unpack(">Q", header[24:32])[0])


def virtual_size(disk_format: str | None, header: bytes, size: int) -> int | None:
    if disk_format == "qcow2":
        return qcow2_virtual_size(header)
    if disk_format == "raw":
        return size
    return None


class HeaderTap:
    """Passes a stream through unchanged, keeping its first bytes for format inspection."""

    def __init__(self, stream: AsyncIterator[bytes], keep: int = HEADER_BYTES) -> None:
        self.stream = stream
        self.keep = keep
        self.header = b""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            if len(self.header) < self.keep:
                self.header += bytes(chunk[:self.keep - len(self.header)])
            yield chunk
