"""Parallels' ploop disks (QEMU's ``parallels``): a 64-byte little-endian header.

The magic is ``WithoutFreeSpace`` or ``WithouFreSpacExt``; the disk size in 512-byte sectors is
the u64 at offset 36. ploop images have no backing files.
"""

from __future__ import annotations

import struct

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import Source

MAGICS = (b"WithoutFreeSpace", b"WithouFreSpacExt")


def probe(src: Source) -> Finding | None:
    h = src.read(0, 64)
    if h[:16] not in MAGICS:
        return None
    f = Finding("ploop")
    if len(h) < 44:
        return f.refuse(f"header is truncated ({len(h)} bytes)")
    return f.sized(struct.unpack("<Q", h[36:44])[0] * 512)
