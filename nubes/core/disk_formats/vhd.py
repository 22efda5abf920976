"""Microsoft's VHD (QEMU's ``vpc``) and VHDX.

VHD: a 512-byte big-endian footer (cookie ``conectix``, data offset at 16, current size at 48,
disk type at 60: 2 fixed, 3 dynamic, 4 differencing) at the end of the file; a dynamic disk
also has a copy of it at offset 0 and a ``cxsparse`` header at the data offset. A fixed disk
is otherwise raw, so it is only recognised by its last sector. A differencing disk names a
parent file and is refused.

VHDX (little-endian): ``vhdxfile`` at 0, the region table (``regi``) at 192 KiB lists the
metadata region (GUID 8B7CA206-...), whose table (``metadata``) lists items: the virtual disk
size, the file parameters (flag bit 1: has a parent) and, for differencing disks, a parent
locator. A VHDX with a parent is refused.
"""

from __future__ import annotations

import struct
import uuid

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import Source

VHD_COOKIE = b"conectix"
VHD_DYNAMIC_COOKIE = b"cxsparse"
VHD_TYPES = {2: "fixed", 3: "dynamic", 4: "differencing"}
VHDX_MAGIC = b"vhdxfile"
REGION_TABLE = 192 * 1024
REGION_METADATA = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le
ITEM_FILE_PARAMETERS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B").bytes_le
ITEM_VIRTUAL_DISK_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8").bytes_le
ITEM_PARENT_LOCATOR = uuid.UUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C").bytes_le
MAX_REGION_ENTRIES = 2047
MAX_METADATA_REGION = 1024 * 1024
FILE_HAS_PARENT = 2


def probe_vhd(src: Source) -> Finding | None:
    head = src.read(0, 512)
    if head[:8] == VHD_COOKIE:
        f = _footer(head)
        if f.subformat == "fixed":
            return f.refuse("has a fixed-disk footer at its start")
        if f.subformat == "dynamic":
            data_offset = struct.unpack(">Q", head[16:24])[0]
            if src.read(data_offset, 8) != VHD_DYNAMIC_COOKIE:
                f.refuse("has no dynamic disk header where its footer says")
        return f
    last = src.tail(512)
    if len(last) == 512 and last[:8] == VHD_COOKIE:
        f = _footer(last)
        if f.subformat != "fixed" and not f.unsafe:
            f.refuse(f"has a {f.subformat} disk footer only at its end")
        return f
    return None


def _footer(raw: bytes) -> Finding:
    f = Finding("vhd")
    if len(raw) < 64:
        return f.refuse("footer is truncated")
    current_size = struct.unpack(">Q", raw[48:56])[0]
    disk_type = struct.unpack(">I", raw[60:64])[0]
    f.subformat = VHD_TYPES.get(disk_type, str(disk_type))
    f.sized(current_size)
    if disk_type == 4:
        f.refuse("is a differencing disk: it names a parent file")
    elif disk_type not in VHD_TYPES:
        f.refuse(f"has an unknown disk type ({disk_type})")
    return f


def probe_vhdx(src: Source) -> Finding | None:
    if src.read(0, 8) != VHDX_MAGIC:
        return None
    f = Finding("vhdx")
    table = src.read(REGION_TABLE, 64 * 1024)
    if len(table) < 16 or table[:4] != b"regi":
        return f.refuse("has no region table")
    count = struct.unpack("<I", table[8:12])[0]
    if count > MAX_REGION_ENTRIES or 16 + 32 * count > len(table):
        return f.refuse(f"has an impossible region table ({count} entries)")
    region = None
    for i in range(count):
        entry = table[16 + 32 * i:48 + 32 * i]
        if entry[:16] == REGION_METADATA:
            region = struct.unpack("<QI", entry[16:28])
    if region is None:
        return f.refuse("has no metadata region")
    offset, length = region
    if not 64 * 1024 <= length <= MAX_METADATA_REGION:
        return f.refuse(f"has a metadata region of {length} bytes")
    meta = src.read(offset, length)
    if len(meta) < 32 or meta[:8] != b"metadata":
        return f.refuse("has no metadata table where its region table says")
    items = _items(meta, f)
    if ITEM_PARENT_LOCATOR in items:
        f.refuse("is a differencing disk: it has a parent locator")
    params = items.get(ITEM_FILE_PARAMETERS)
    if params is None or len(params) < 8:
        f.refuse("has no file parameters")
    elif struct.unpack("<I", params[4:8])[0] & FILE_HAS_PARENT:
        f.refuse("is a differencing disk: it has a parent")
    size = items.get(ITEM_VIRTUAL_DISK_SIZE)
    if size is None or len(size) < 8:
        return f.refuse("has no virtual disk size")
    return f.sized(struct.unpack("<Q", size[:8])[0])


def _items(meta: bytes, f: Finding) -> dict[bytes, bytes]:
    count = struct.unpack("<H", meta[10:12])[0]
    if 32 + 32 * count > min(len(meta), 64 * 1024):
        f.refuse(f"has an impossible metadata table ({count} entries)")
        return {}
    items = {}
    for i in range(count):
        entry = meta[32 + 32 * i:64 + 32 * i]
        item_offset, item_length = struct.unpack("<II", entry[16:24])
        if item_offset + item_length > len(meta):
            f.refuse("has a metadata item outside its metadata region")
            continue
        items[entry[:16]] = meta[item_offset:item_offset + item_length]
    return items
