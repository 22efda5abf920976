"""VirtualBox's VDI: a text pre-header, then a little-endian header.

The signature ``0xbeda107f`` is at offset 0x40, the version at 0x44 (QEMU reads 1.1 only), the
image type at 0x4c (1 dynamic, 2 static; 3 undo and 4 differencing images name a parent),
the disk size (u64) at 0x170.
"""

from __future__ import annotations

import struct

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import Source

SIGNATURE = 0xBEDA107F
VERSION_1_1 = 0x00010001
TYPES = {1: "dynamic", 2: "static", 3: "undo", 4: "differencing"}


def probe(src: Source) -> Finding | None:
    h = src.read(0, 0x180)
    if len(h) < 0x44 or struct.unpack("<I", h[0x40:0x44])[0] != SIGNATURE:
        return None
    f = Finding("vdi")
    if len(h) < 0x178:
        return f.refuse(f"header is truncated ({len(h)} bytes)")
    version, _size, kind = struct.unpack("<III", h[0x44:0x50])
    f.subformat = TYPES.get(kind, str(kind))
    f.sized(struct.unpack("<Q", h[0x170:0x178])[0])
    if version != VERSION_1_1:
        f.refuse(f"has header version {version >> 16}.{version & 0xFFFF} (1.1 is the one QEMU reads)")
    if kind in (3, 4):
        f.refuse(f"is of image type {f.subformat!r}, which names a parent image")
    elif kind not in TYPES:
        f.refuse(f"has an unknown image type ({kind})")
    return f
