"""When an inspected image is refused: several formats at once, an unsafe one, not what it claims, too big.

``judge(inspection, disk_format, ...)`` answers the first reason to refuse, or None. On an
inspection that is not final it answers only refusals that the rest of the data cannot undo,
so a stream can be stopped early. The order (and the wording) follows what upstream's format
inspector and Glance check (OSSA-2024-001): detection, safety, format match, then size.

Which content a ``disk_format`` accepts: its own format; ``ami``, ``ari`` and ``aki``
(a machine disk, a ramdisk, a kernel) are read as raw bytes by QEMU, so they accept raw
content only (Nova lets them be anything; a qcow2 labelled ``ami`` would boot as garbage
here, so it is refused instead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from nubes.core.disk_formats.inspector import Inspection

# Glance's [image_format] vmdk_allowed_types default: the monolithic, self-contained subformats.
DEFAULT_VMDK_TYPES = ("streamOptimized", "monolithicSparse")
# A virtual disk larger than any image a cloud is meant to boot (VHDX's own maximum is 64 TiB).
DEFAULT_MAX_VIRTUAL_SIZE = 16 * 1024 ** 4
RAW_CONTENT = {"ami": "raw", "ari": "raw", "aki": "raw"}

UNDETECTABLE, UNSAFE, MISMATCH, TOO_LARGE = "undetectable", "unsafe", "mismatch", "too_large"


@dataclass(frozen=True)
class Refusal:
    kind: str          # UNDETECTABLE, UNSAFE, MISMATCH or TOO_LARGE
    message: str       # for the person who uploaded it


def content_format(disk_format: str) -> str:
    """The format the data of an image of this ``disk_format`` must be."""
    return RAW_CONTENT.get(disk_format, disk_format)


def judge(inspection: Inspection, disk_format: str | None, *, require_match: bool = True,
          vmdk_allowed_types: Iterable[str] = DEFAULT_VMDK_TYPES,
          max_virtual_size: int | None = DEFAULT_MAX_VIRTUAL_SIZE,
          allow_encrypted: bool = True) -> Refusal | None:
    if inspection.ambiguous:
        names = ", ".join(sorted(f.format for f in inspection.findings))
        return Refusal(UNDETECTABLE, f"Image format detection failed: the data reads as several formats "
                                     f"at once ({names}).")
    unsafe = list(inspection.unsafe)
    f = inspection.finding
    if f is not None:
        allowed = list(vmdk_allowed_types)
        if f.format == "vmdk" and f.subformat and f.subformat not in allowed and not f.unsafe:
            unsafe.append(f"the vmdk image has createType {f.subformat!r}, which is not allowed here "
                          f"(allowed: {', '.join(allowed) or 'none'})")
        if f.encrypted and not allow_encrypted:
            unsafe.append(f"the {f.format} image is encrypted, and there is no key to open it with")
    if unsafe:
        return Refusal(UNSAFE, f"Image does not pass safety check: {'; '.join(unsafe)}.")
    detected = inspection.format
    if require_match and disk_format and detected is not None:
        expected = content_format(disk_format)
        if detected != expected:
            return Refusal(MISMATCH, f"Image content does not match disk_format: the data is {detected}, "
                                     f"disk_format is {disk_format}.")
    size = inspection.virtual_size
    if max_virtual_size is not None and size is not None and size > max_virtual_size:
        return Refusal(TOO_LARGE, f"Image does not pass safety check: its virtual size ({size} bytes) is "
                                  f"over this cloud's limit of {max_virtual_size} bytes.")
    return None
