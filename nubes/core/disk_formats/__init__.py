"""What a disk image really is: its format read from its bytes, and what makes it unsafe to open.

A pure-Python format inspector in the spirit of the one upstream OpenStack added after
OSSA-2024-001 (written here from the formats' specifications, not from that code): it
recognises raw, qcow2, QED, VMDK, VHD, VHDX, VDI, ISO 9660/UDF and ploop, reads their virtual
size, and finds what would make QEMU reach outside the image (backing files, external data
files, VMDK descriptors naming other files, differencing disks) or fail on it. It never runs
``qemu-img`` (probing an untrusted file with it is the very attack) and never holds an image
whole: a stream is inspected as it passes (``StreamInspector``), a file by a few small reads
(``inspect_file``). ``rules.judge`` decides whether an inspected image is refused.

It lives in the core because two services need the same answers and a service never imports
another's package: the image service inspects every upload and import as it streams in, and
the compute service's qemu driver inspects every image again before QEMU opens it, whatever
the image service said.
"""

from nubes.core.disk_formats.findings import Finding
from nubes.core.disk_formats.inspector import Inspection, StreamInspector, inspect_bytes, inspect_file
from nubes.core.disk_formats.rules import (
    DEFAULT_MAX_VIRTUAL_SIZE,
    DEFAULT_VMDK_TYPES,
    Refusal,
    content_format,
    judge,
)

__all__ = ["DEFAULT_MAX_VIRTUAL_SIZE", "DEFAULT_VMDK_TYPES", "Finding", "Inspection", "Refusal",
           "StreamInspector", "content_format", "inspect_bytes", "inspect_file", "judge"]
