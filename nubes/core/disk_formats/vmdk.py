"""VMware's VMDK: the hosted sparse extent header, its embedded descriptor, and its footer.

A sparse extent starts with ``KDMV`` and a little-endian header: version (u32), flags (u32),
capacity, grain size, descriptor offset and size, (u64 each, in 512-byte sectors), grain table
entries (u32), redundant and primary grain directory offsets, overhead (u64). The descriptor is
text (``createType="..."``, extent lines ``RW <sectors> SPARSE "<file>"``, ``parentCID``,
``parentFileNameHint``). A grain directory offset of all ones means the real header is a
footer at the end of the file: a footer marker, a copy of the header, an end-of-stream marker.

What QEMU would do with it decides what is unsafe: a header of capacity 0 makes QEMU open the
extents the descriptor names (any file on the host), so it is refused; the descriptor must
describe this one file (a single SPARSE extent, a name without a path) and no parent; a
footer must not point at another descriptor. A bare text descriptor (``# Disk
DescriptorFile``, as ``monolithicFlat`` and split formats are) always names other files and
is refused. The createType is reported (``subformat``) for the caller's allow-list
(``rules``). The old ``COWD`` sparse format is recognised and refused.
"""

from __future__ import annotations

import re
import struct

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import Source

MAGIC = b"KDMV"
COWD_MAGIC = b"COWD"
SECTOR = 512
GD_AT_END = 0xFFFFFFFFFFFFFFFF
MAX_DESCRIPTOR_SECTORS = 2048            # 1 MiB of descriptor text is far more than any has
MARKER_FOOTER, MARKER_EOS = 3, 0
_HEADER = struct.Struct("<IIQQQQIQQQ")    # from offset 4
_EXTENT = re.compile(r'^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Za-z0-9_]+)(?:\s+"([^"]*)")?(?:\s+(\d+))?\s*$')
_KEY = re.compile(r"^([A-Za-z0-9_.]+)\s*=(.*)$")


def probe(src: Source) -> Finding | None:
    head = src.read(0, SECTOR)
    if head[:4] == MAGIC:
        return _sparse(src, head)
    if head[:4] == COWD_MAGIC:
        return Finding("vmdk", subformat="COWD").refuse("is a legacy COWD sparse VMDK, which this cloud "
                                                        "does not take")
    if _is_descriptor_text(head):
        f = Finding("vmdk")
        desc = _parse(src.read(0, 64 * 1024).split(b"\0", 1)[0], f)
        f.subformat = desc.get("createType")
        return f.refuse("is a VMDK descriptor without data of its own: its extents are other files")
    return None


def _is_descriptor_text(head: bytes) -> bool:
    """QEMU's test: comment and blank lines, then ``version=1``, ``2`` or ``3``."""
    for line in head.split(b"\n")[:32]:
        line = line.strip()
        if not line or line.startswith(b"#"):
            continue
        return line in (b"version=1", b"version=2", b"version=3")
    return False


def _sparse(src: Source, head: bytes) -> Finding:
    f = Finding("vmdk")
    if len(head) < 4 + _HEADER.size:
        return f.refuse(f"header is truncated ({len(head)} bytes)")
    header = _HEADER.unpack(head[4:4 + _HEADER.size])
    version, capacity, desc_offset, desc_size = header[0], header[2], header[4], header[5]
    gd_offset = header[8]
    if version not in (1, 2, 3):
        return f.refuse(f"header has version {version} (1, 2 or 3 expected)")
    if gd_offset == GD_AT_END:
        footer = _footer(src, header, f)
        if footer is None:
            return f
        capacity = footer[2]
    f.sized(capacity * SECTOR)
    if capacity == 0:
        return f.refuse("header has capacity 0, which makes QEMU open the extents its descriptor names")
    if not desc_offset or not desc_size:
        return f.refuse("has no embedded descriptor")
    if desc_size > MAX_DESCRIPTOR_SECTORS:
        return f.refuse(f"has a descriptor of {desc_size} sectors, more than is inspected")
    text = src.read(desc_offset * SECTOR, desc_size * SECTOR).split(b"\0", 1)[0]
    if not text:
        return f.refuse("has no descriptor text where its header says")
    desc = _parse(text, f)
    f.subformat = desc.get("createType")
    if not f.subformat:
        f.refuse("has a descriptor without a createType")
    return f


def _footer(src: Source, header: tuple, f: Finding) -> tuple | None:
    tail = src.tail(3 * SECTOR)
    if len(tail) < 3 * SECTOR:
        f.refuse("says its header is in a footer, but the data is too short for one")
        return None
    marker, footer, eos = tail[:SECTOR], tail[SECTOR:2 * SECTOR], tail[2 * SECTOR:]
    _val, size, kind = struct.unpack("<QII", marker[:16])
    if size != 0 or kind != MARKER_FOOTER:
        f.refuse("says its header is in a footer, but has no footer marker")
        return None
    if eos.strip(b"\0"):
        f.refuse("has a footer that is not followed by the end-of-stream marker")
        return None
    if footer[:4] != MAGIC:
        f.refuse("has a footer that is not a VMDK header")
        return None
    values = _HEADER.unpack(footer[4:4 + _HEADER.size])
    if values[0] != header[0]:
        f.refuse("has a footer of another version than its header")
        return None
    if (values[4], values[5]) != (header[4], header[5]):
        f.refuse("has a footer that points at another descriptor than its header")
        return None
    if values[8] == GD_AT_END:
        f.refuse("has a footer that points at another footer")
        return None
    return values


def _parse(text: bytes, f: Finding) -> dict[str, str]:
    """The descriptor's keys; unsafe lines and extents are added to ``f``."""
    keys: dict[str, str] = {}
    extents: list[re.Match[str]] = []
    for raw in text.decode("utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if m := _EXTENT.match(line):
            extents.append(m)
        elif m := _KEY.match(line):
            value = m.group(2).strip()
            keys[m.group(1)] = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        else:
            f.refuse(f"has a descriptor line that is neither a key nor an extent ({line[:80]!r})")
            return keys
    if keys.get("parentCID", "ffffffff").lower() != "ffffffff" or "parentFileNameHint" in keys:
        f.refuse("has a parent disk (parentCID / parentFileNameHint): a backing file")
    if len(extents) != 1:
        f.refuse(f"has {len(extents)} extents in its descriptor (one, the file itself, is allowed)")
    for m in extents:
        kind, name = m.group(3), m.group(4) or ""
        if kind != "SPARSE":
            f.refuse(f"has a {kind} extent ({name!r}): only this file's own SPARSE extent is allowed")
        elif "/" in name or "\\" in name:
            f.refuse(f"has an extent that names a path ({name[:80]!r})")
    return keys
