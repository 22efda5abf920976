"""Image data in and out: PUT .../file (upload), PUT .../stage, GET .../file with ranges.

Uploads stream straight from the request into a store (``drivers/base.py`` contract):
nothing holds the whole image in memory, quotas and the size cap are checked on every
chunk, the data's format is inspected as it passes (``formats.py``), and any failure (quota,
cap, data refused by the inspection, full disk, a client that goes away) removes the partial
data and puts the image back to ``queued``. Staged data is inspected when it is imported, as
Glance does.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from nubes.core.context import RequestContext
from nubes.core.exceptions import BadRequest, NotFound, RangeNotSatisfiable, ServiceUnavailable
from nubes.image import policies
from nubes.image.db.queries import images as q
from nubes.image.drivers.base import DataNotFound, ImageStore, StoreError, StoreFull, WriteResult
from nubes.image.exceptions import (
    ImageForbidden,
    ImageGone,
    ImageTooLarge,
    InvalidImage,
    InvalidStatusTransition,
    QuotaExceeded,
)
from nubes.image.service import formats, quotas
from nubes.image.service.access import Authorizer
from nubes.image.service.images import visible
from nubes.image.service.records import ImageRecord

LOG = logging.getLogger(__name__)

HASH_ALGO = "sha512"


def require_formats(image: ImageRecord) -> None:
    missing = [k for k in ("disk_format", "container_format") if not getattr(image, k)]
    if len(missing) == 1:
        raise InvalidImage(f"Property {missing[0]} must be set prior to saving data.")
    if missing:
        raise InvalidImage(f"Properties {', '.join(missing)} must be set prior to saving data.")


async def limited(stream: AsyncIterator[bytes], cap: int, quota_left: int | None,
                  resource: str, project_id: str | None) -> AsyncIterator[bytes]:
    """Pass chunks through, raising 413 the moment the size cap or the quota is crossed."""
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > cap:
            raise ImageTooLarge(f"The incoming image is too large: the limit is {cap} bytes.")
        if quota_left is not None and total > quota_left:
            raise QuotaExceeded(
                f"Image exceeds the storage quota: project {project_id} is over its {resource} "
                f"limit ({quota_left} bytes were left).")
        yield chunk


async def _revert(state: Any, image_id: str, from_status: str) -> None:
    """Put an image whose data did not arrive back to queued; survives cancellation."""
    async def go() -> None:
        async with state.db.session() as s:
            await q.transition(s, image_id, [from_status], "queued", size=None)
    try:
        await asyncio.shield(go())
    except Exception:
        LOG.exception("could not return image %s to queued", image_id)


def store_error(exc: StoreError) -> Exception:
    if isinstance(exc, StoreFull):
        return ImageTooLarge(f"Image storage media is full: {exc}")
    return ServiceUnavailable(f"Image storage failed: {exc}")


@dataclass
class Intake:
    """What an upload or a stage needs before the first byte is read."""

    image: ImageRecord
    store: ImageStore
    quota_left: int | None
    resource: str


async def _prepare(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, *, staging: bool,
                   store_id: str | None, declared: int | None) -> Intake:
    if staging:
        store = state.stores.staging
    else:
        sid = store_id or state.stores.default_id
        found = state.stores.get(sid)
        if found is None:
            raise BadRequest(f"Store for identifier {sid} not found")
        store = found
    async with state.db.reader() as s:
        image, member = await visible(s, ctx, image_id)
    authz.image(policies.MODIFY_IMAGE if staging else policies.UPLOAD_IMAGE, image, member)
    owner = image.owner
    resource = quotas.STAGE_TOTAL if staging else quotas.SIZE_TOTAL
    usage = (lambda: state.staged_bytes(owner)) if staging else (lambda: state.stored_bytes(owner))
    quota_left = await state.quotas.remaining_bytes(owner, resource, usage)
    await state.quotas.enforce(owner, quotas.COUNT_UPLOADING, lambda: state.count_uploading(owner), 1)
    if image.status != "queued":
        raise InvalidStatusTransition(image.status, "uploading" if staging else "saving")
    if not staging:
        require_formats(image)
    if declared is not None:
        if declared > state.conf.image_size_cap:
            raise ImageTooLarge(f"The incoming image is too large: {declared} bytes is over the "
                                f"limit of {state.conf.image_size_cap} bytes.")
        if quota_left is not None and declared > quota_left:
            raise QuotaExceeded(f"Image exceeds the storage quota: project {owner} has "
                                f"{quota_left} bytes left under {resource}.")
    return Intake(image, store, quota_left, resource)


async def upload(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str,
                 stream: AsyncIterator[bytes], *, declared: int | None = None,
                 store_id: str | None = None) -> None:
    intake = await _prepare(state, ctx, authz, image_id, staging=False, store_id=store_id, declared=declared)
    async with state.db.session() as s:
        if not await q.transition(s, image_id, ["queued"], "saving"):
            raise InvalidStatusTransition(intake.image.status, "saving")
    tap = formats.InspectingTap(limited(stream, state.conf.image_size_cap, intake.quota_left,
                                        intake.resource, intake.image.owner), intake.image, state.conf)
    try:
        result = await intake.store.write(image_id, tap.__aiter__(), size=declared)
    except StoreError as exc:
        await _revert(state, image_id, "saving")
        raise store_error(exc) from None
    except BaseException:
        await _revert(state, image_id, "saving")
        raise
    await _finish_upload(state, intake, result, tap.virtual_size)
    LOG.info("image %s: %d bytes uploaded to store %s", image_id, result.size, intake.store.store_id)


async def _finish_upload(state: Any, intake: Intake, result: WriteResult, vsize: int | None) -> None:
    image_id = intake.image.id
    async with state.db.session() as s:
        done = await q.transition(s, image_id, ["saving"], "active", size=result.size,
                                  checksum=result.md5, os_hash_algo=HASH_ALGO,
                                  os_hash_value=result.sha512, virtual_size=vsize)
        if done:
            await q.add_location(s, image_id, intake.store.store_id, result.location, result.size)
    if not done:
        await state.discard(intake.store.store_id, result.location)
        raise ImageGone(f"Image {image_id} could not be found after upload. The image may have been "
                        "deleted during the upload, cleaning up the chunks uploaded.")


async def stage(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str,
                stream: AsyncIterator[bytes], *, declared: int | None = None) -> None:
    if "glance-direct" not in state.conf.enabled_import_methods:
        raise _not_available()
    intake = await _prepare(state, ctx, authz, image_id, staging=True, store_id=None, declared=declared)
    async with state.db.session() as s:
        if not await q.transition(s, image_id, ["queued"], "uploading"):
            raise InvalidStatusTransition(intake.image.status, "uploading")
    src = limited(stream, state.conf.image_size_cap, intake.quota_left, intake.resource,
                  intake.image.owner)
    try:
        result = await intake.store.write(image_id, src, size=declared)
    except StoreError as exc:
        await _revert(state, image_id, "uploading")
        raise store_error(exc) from None
    except BaseException:
        await _revert(state, image_id, "uploading")
        raise
    async with state.db.session() as s:
        row = await q.get(s, image_id, for_update=True)
        ok = False
        if row is not None and row.status == "uploading":
            ok = True
            row.size = result.size
            await q.set_staged(s, image_id, result.location, result.size, row.owner)
    if not ok:
        await state.discard(intake.store.store_id, result.location)
        raise ImageGone(f"Image {image_id} could not be found after upload. The image may have been "
                        "deleted during the upload, cleaning up the chunks uploaded.")
    LOG.info("image %s: %d bytes staged", image_id, result.size)


def _not_available() -> Exception:
    return NotFound("'glance-direct' method is not available at this site.")


# ------------------------------------------------------------------ download

@dataclass
class Download:
    status: int                 # 200, 206 or 204 (no data)
    store: ImageStore | None
    location: str
    offset: int
    length: int
    size: int
    checksum: str | None
    content_range: str | None


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def parse_range(header: str, size: int) -> tuple[int, int, int]:
    """(offset, length, last byte) for a single-range Range header, the way Glance reads it."""
    if "," in header:
        raise BadRequest("Requests with multiple ranges are not supported in Glance. You may make "
                         "multiple single-range requests instead.")
    m = _RANGE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        raise RangeNotSatisfiable("Invalid Range header.")
    first, last = m.group(1), m.group(2)
    if first:
        start = int(first)
        end = int(last) + 1 if last else None
        if end is not None and end <= start:
            raise RangeNotSatisfiable("Invalid Range header.")
        if start >= size:
            raise RangeNotSatisfiable("Invalid start position in Range header. Start position MUST be "
                                      f"in the inclusive range [0, {size - 1}].")
        offset = start
    else:
        suffix = int(last)
        if suffix == 0:
            raise RangeNotSatisfiable("Invalid Range header.")
        offset, end = (size - suffix if suffix < size else 0), None
    stop = end if end is not None and end < size else size
    return offset, stop - offset, stop - 1


async def open_download(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str,
                        range_header: str | None) -> Download:
    async with state.db.reader() as s:
        image, member = await visible(s, ctx, image_id)
    if image.status == "deactivated" and not ctx.is_admin:
        raise ImageForbidden("The requested image has been deactivated. Image data download is "
                             "forbidden.")
    authz.image(policies.DOWNLOAD_IMAGE, image, member)
    loc = next((loc for loc in image.locations if state.stores.get(loc.store_id)), None)
    if loc is None or image.size is None:
        return Download(204, None, "", 0, 0, 0, None, None)
    store = state.stores.get(loc.store_id)
    size = image.size
    if range_header:
        offset, length, last = parse_range(range_header, size)
        return Download(206, store, loc.url, offset, length, size, image.checksum,
                        f"bytes {offset}-{last}/{size}")
    return Download(200, store, loc.url, 0, size, size, image.checksum, None)


async def read(dl: Download) -> AsyncIterator[bytes]:
    assert dl.store is not None
    try:
        async for chunk in dl.store.read(dl.location, dl.offset, dl.length):
            yield chunk
    except DataNotFound:
        LOG.error("data of an active image is missing at %s", dl.location)
        raise
