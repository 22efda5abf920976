"""QEMU's own formats: qcow2 (versions 2 and 3) and QED.

qcow2 (QEMU's docs/interop/qcow2.txt), all big-endian: ``QFI\\xfb``, version (u32), backing
file offset (u64) and size (u32), cluster bits (u32), virtual size (u64), encryption method
(u32: 0 none, 1 AES, 2 LUKS), then tables. Version 3 adds at 72: incompatible, compatible and
autoclear feature bits (u64 each), refcount order and header length (u32). Header extensions
(type u32, length u32, data padded to 8 bytes, type 0 ends them) follow the header and must
end inside the first cluster. Unsafe: a backing file (any offset), an external data file
(incompatible bit 2, or a ``DATA`` extension naming one), incompatible features this reader
does not know, an image marked corrupt, and headers that do not hold together.

QED (``QED\\0``) is recognised only to be refused: no OpenStack service takes it, and QEMU
would follow its backing file.
"""

from __future__ import annotations

import struct

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import Source

MAGIC = b"QFI\xfb"
QED_MAGIC = b"QED\0"
V2_HEADER = 72
V3_HEADER = 104
# incompatible feature bits: dirty, corrupt, external data file, compression type, extended L2
INCOMPAT_DIRTY, INCOMPAT_CORRUPT, INCOMPAT_DATA_FILE = 1, 2, 4
INCOMPAT_KNOWN = 0x1F
EXT_END, EXT_BACKING_FORMAT, EXT_FEATURE_NAMES = 0, 0xE2792ACA, 0x6803F857
EXT_BITMAPS, EXT_ENCRYPTION, EXT_DATA_FILE = 0x23852875, 0x0537BE77, 0x44415441
MAX_EXTENSIONS = 1024
CRYPT_METHODS = {0: None, 1: "aes", 2: "luks"}


def _printable(raw: bytes, limit: int = 120) -> str:
    text = raw[:limit].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(raw) > limit else ""))


def probe(src: Source) -> Finding | None:
    magic = src.read(0, 4)
    if magic == QED_MAGIC:
        return _qed(src)
    if magic != MAGIC:
        return None
    f = Finding("qcow2")
    h = src.read(0, V3_HEADER)
    if len(h) < V2_HEADER:
        return f.refuse(f"header is truncated ({len(h)} bytes)")
    version, bf_offset, bf_size, cluster_bits, size, crypt = struct.unpack(">IQIIQI", h[4:36])
    f.subformat = f"v{version}"
    if version not in (2, 3):
        return f.refuse(f"header has version {version} (a qcow2 image is version 2 or 3)")
    if not 9 <= cluster_bits <= 21:
        return f.refuse(f"header has an impossible cluster size (2^{cluster_bits} bytes)")
    cluster = 1 << cluster_bits
    f.sized(size)
    if crypt not in CRYPT_METHODS:
        f.refuse(f"header names an unknown encryption method ({crypt})")
    f.encrypted = crypt != 0
    if bf_offset:
        name = src.read(bf_offset, min(bf_size, 1023)) if bf_offset + bf_size <= cluster else b""
        f.refuse(f"has a backing file ({_printable(name)})" if name else "has a backing file")
    header_length = V2_HEADER
    if version == 3:
        if len(h) < V3_HEADER:
            return f.refuse(f"version 3 header is truncated ({len(h)} bytes)")
        incompatible, _compatible, _autoclear, _refcount_order, header_length = struct.unpack(
            ">QQQII", h[72:104])
        if header_length < V3_HEADER or header_length > cluster or header_length % 8:
            return f.refuse(f"header has an impossible length ({header_length} bytes)")
        if incompatible & INCOMPAT_DATA_FILE:
            f.refuse("has an external data file (incompatible feature bit 2)")
        if incompatible & INCOMPAT_CORRUPT:
            f.refuse("is marked corrupt")
        if incompatible & ~INCOMPAT_KNOWN:
            f.refuse(f"uses incompatible features this cloud does not know ({incompatible:#x})")
    _extensions(src, f, header_length, cluster)
    return f


def _extensions(src: Source, f: Finding, offset: int, cluster: int) -> None:
    for _ in range(MAX_EXTENSIONS):
        if offset + 8 > cluster:
            f.refuse("header extensions run past the first cluster")
            return
        raw = src.read(offset, 8)
        if len(raw) < 8:
            f.refuse("header extensions are truncated")
            return
        kind, length = struct.unpack(">II", raw)
        if kind == EXT_END:
            return
        if offset + 8 + length > cluster:
            f.refuse(f"header extension {kind:#x} runs past the first cluster")
            return
        if kind == EXT_DATA_FILE:
            f.refuse(f"names an external data file ({_printable(src.read(offset + 8, min(length, 1023)))})")
        elif kind == EXT_ENCRYPTION and not f.encrypted:
            f.refuse("has an encryption header but says it is not encrypted")
        offset += 8 + ((length + 7) & ~7)
    f.refuse(f"has more than {MAX_EXTENSIONS} header extensions")


def _qed(src: Source) -> Finding:
    f = Finding("qed").refuse("is a QED image, a format this cloud does not take")
    h = src.read(0, 56)
    if len(h) >= 56:
        f.sized(struct.unpack("<Q", h[48:56])[0])
    return f
