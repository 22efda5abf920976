"""ISO 9660 and UDF: the volume descriptors that start at sector 16 (32 KiB) of 2048-byte sectors.

Each descriptor has a type byte and a five-letter identifier: ``CD001`` (ISO 9660: boot record,
primary and supplementary descriptors, terminator) or, in UDF's volume recognition sequence,
``BEA01``, ``NSR02``/``NSR03``, ``TEA01``. The first 32 KiB (the system area) is free for
anything: a bootable ISO keeps an MBR or GPT there, and a crafted one a qcow2 header, which
would make QEMU (probing) read the file as that qcow2. So the ISO probe only says "iso"; the
inspector sees the qcow2 too, and two formats at once are refused (``rules``). QEMU reads an
ISO as raw, so its virtual size is its size.
"""

from __future__ import annotations

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.source import Source

SECTOR = 2048
FIRST = 16
MAX_DESCRIPTORS = 32
ISO9660 = b"CD001"
UDF = (b"BEA01", b"NSR02", b"NSR03", b"TEA01")


def probe(src: Source) -> Finding | None:
    kinds = []
    for i in range(FIRST, FIRST + MAX_DESCRIPTORS):
        ident = src.read(i * SECTOR + 1, 5)
        if ident == ISO9660:
            kinds.append("iso9660")
        elif ident in UDF:
            kinds.append("udf")
        else:
            break
    if not kinds:
        return None
    return Finding("iso", subformat="+".join(dict.fromkeys(kinds))).sized(src.size)
