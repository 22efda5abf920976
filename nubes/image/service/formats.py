"""Image data is what it claims: every upload and import is inspected as it streams into a store.

``InspectingTap(stream, image, conf)`` passes the chunks through unchanged while the core's
format inspector (``nubes.core.disk_formats``) reads them, and raises ``InvalidImageData``
(400) the moment the data is certain to be refused: at the first chunk that shows it, or at
the end of the stream, before the store publishes anything (a store removes what it wrote
when its stream raises). Refused, as Glance refuses since OSSA-2024-001:

- data that reads as several formats at once (an ISO with a qcow2 header in its system area);
- unsafe data: a qcow2 with a backing file or an external data file, a VMDK whose descriptor
  names other files or whose createType is not in ``[image] vmdk_allowed_types``, a
  differencing VHD/VHDX/VDI, QED, headers that do not hold together;
- data that is not the image's ``disk_format`` (``[image] require_image_format_match``; a
  ``raw`` image must be no known format, ``ami``/``ari``/``aki`` are raw too);
- a virtual size over ``[image] image_virtual_size_cap``.

Only ``bare`` (and ``ami``/``ari``/``aki``) containers hold a disk image as is: the data of
``ovf``, ``ova``, ``docker`` and ``compressed`` containers is an archive, so it is checked for
safety only, and its ``virtual_size`` is not known.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from nubes.core.disk_formats import Inspection, Refusal, StreamInspector, judge
from nubes.image.exceptions import InvalidImageData

LOG = logging.getLogger(__name__)

DISK_CONTAINERS = ("bare", "ami", "ari", "aki")


class InspectingTap:
    def __init__(self, stream: AsyncIterator[bytes], image: Any, conf: Any) -> None:
        self.stream = stream
        self.image_id = image.id
        self.disk_format = image.disk_format
        self.is_disk = (image.container_format or "bare") in DISK_CONTAINERS
        self.conf = conf
        self.inspector = StreamInspector()
        self.inspection: Inspection | None = None
        self._judged = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.inspector.feed(chunk)
            if self.inspector.examined != self._judged:
                self._judged = self.inspector.examined
                self._check(self.inspector.inspection)
            yield chunk
        self.inspection = self.inspector.finish()
        self._check(self.inspection)

    @property
    def virtual_size(self) -> int | None:
        if self.inspection is None or not self.is_disk:
            return None
        return self.inspection.virtual_size

    def _check(self, inspection: Inspection) -> None:
        refusal = self.refusal(inspection)
        if refusal is not None:
            LOG.info("image %s (disk_format %s): data refused: %s", self.image_id, self.disk_format,
                     refusal.message)
            raise InvalidImageData(refusal.message)

    def refusal(self, inspection: Inspection) -> Refusal | None:
        conf = self.conf
        kw = {"vmdk_allowed_types": conf.vmdk_allowed_types, "allow_encrypted": True}
        if not self.is_disk:
            return judge(inspection, self.disk_format, require_match=False, max_virtual_size=None, **kw)
        refusal = judge(inspection, self.disk_format, require_match=conf.require_image_format_match,
                        max_virtual_size=conf.image_virtual_size_cap or None, **kw)
        if refusal is None and not conf.require_image_format_match and inspection.final:
            mismatch = judge(inspection, self.disk_format, max_virtual_size=None, **kw)
            if mismatch is not None:
                LOG.warning("image %s: accepted although %s ([image] require_image_format_match is off)",
                            self.image_id, mismatch.message)
        return refusal
