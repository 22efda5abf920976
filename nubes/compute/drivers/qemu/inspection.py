"""Images are what the qemu driver tells QEMU they are, whatever the image service said.

Each image is inspected by the core's format inspector (``nubes.core.disk_formats``) while it
is downloaded into the cache (``images.ImageCache``), and a base image again, from the cached
file itself, before a disk is made on it (``ImageCache.verify``). Refused, with a
``SpawnFailed`` that is not retried (the server goes to ERROR with this reason as its fault):

- data that reads as several formats, or whose format is not its ``disk_format`` (the format
  the driver passes to ``qemu-img -F`` and QEMU's ``format=``; ``ami``, ``ari``, ``aki`` and
  the kernel and ramdisk they name are raw);
- unsafe data: a backing file, an external data file, a VMDK descriptor naming other files or
  of a createType not in ``vmdk_allowed_types``, a differencing disk, QED;
- an encrypted image (the driver has no key to open it with);
- a virtual size over ``max_virtual_size``.

The driver never lets QEMU or qemu-img probe a format: every command names it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nubes.compute.drivers.base import SpawnFailed
from nubes.core.concurrency import run_blocking
from nubes.core.disk_formats import (
    DEFAULT_MAX_VIRTUAL_SIZE,
    DEFAULT_VMDK_TYPES,
    Inspection,
    inspect_file,
    judge,
)

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImageChecks:
    max_virtual_size: int | None = DEFAULT_MAX_VIRTUAL_SIZE
    vmdk_allowed_types: tuple[str, ...] = DEFAULT_VMDK_TYPES

    def refusal(self, image: dict[str, Any], inspection: Inspection) -> SpawnFailed | None:
        """Why ``image`` (its record) cannot be used with data so inspected, or None."""
        refused = judge(inspection, str(image.get("disk_format") or "raw"), require_match=True,
                        vmdk_allowed_types=self.vmdk_allowed_types, max_virtual_size=self.max_virtual_size,
                        allow_encrypted=False)
        if refused is None:
            return None
        LOG.warning("qemu: image %s (disk_format %s) refused: %s", image.get("id"), image.get("disk_format"),
                    refused.message)
        return SpawnFailed(f"Image {image.get('id')} cannot be used: {refused.message}", retryable=False)

    async def check_file(self, image: dict[str, Any], path: Path) -> Inspection:
        try:
            inspection = await run_blocking(inspect_file, path)
        except OSError as e:
            raise SpawnFailed(f"Image {image.get('id')} cannot be read: {e}", retryable=True) from None
        refused = self.refusal(image, inspection)
        if refused is not None:
            raise refused
        return inspection
