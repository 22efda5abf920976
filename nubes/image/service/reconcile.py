"""Start-up repair: what a crash or a restart in the middle of an upload or import left behind.

- images stuck in ``saving`` (an upload was cut off) go back to ``queued``;
- images stuck in ``importing`` lose their import lock and go back to ``uploading`` if their
  staged data is still there (the client can import again), else to ``queued``;
- copy-image locks left on active images are cleared;
- partial files (``.part``) in every store are removed, and so is any stored file that no
  image location refers to, and any staged file no staging record refers to.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.image.db.queries import images as q
from nubes.image.service.imports import FAILED, IMPORTING, LOCK

LOG = logging.getLogger(__name__)


async def reconcile(state: Any) -> None:
    async with state.db.session() as s:
        for row in await q.in_status(s, ["saving"]):
            await q.transition(s, row.id, ["saving"], "queued", size=None)
            LOG.warning("image %s was being uploaded when the service stopped; back to queued", row.id)
        staged = {r.image_id for r in await q.all_staged(s)}
        for image_id in await q.with_property(s, LOCK):
            props = (await q.properties_of(s, [image_id]))[image_id]
            stores = props.pop(IMPORTING, "") or ""
            props.pop(LOCK, None)
            if stores:
                failed = [x for x in (props.get(FAILED) or "").split(",") if x]
                props[FAILED] = ",".join(dict.fromkeys([*failed, *stores.split(",")]))
            await q.set_properties(s, image_id, props)
            back = "uploading" if image_id in staged else "queued"
            if await q.transition(s, image_id, ["importing"], back):
                LOG.warning("import of image %s was interrupted; back to %s", image_id, back)
        live = await q.all_location_urls(s)
        staged_urls = {r.url for r in await q.all_staged(s)}
    removed = 0
    for store in state.stores.all():
        removed += await store.discard_partial()
        keep = staged_urls if store is state.stores.staging else live
        for url in await store.locations():
            if url not in keep:
                await store.delete(url)
                removed += 1
    if removed:
        LOG.info("removed %d leftover image files", removed)
