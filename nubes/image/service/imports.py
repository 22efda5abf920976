"""Interoperable image import: glance-direct (from staging), web-download (from an allowed URL), copy-image.

POST .../import validates synchronously (Glance's checks and messages) and answers 202;
the data moves in a background task per image. While it runs the image carries Glance's
``os_glance_import_task`` lock and ``os_glance_importing_to_stores``; stores that failed
are listed in ``os_glance_failed_import``. The data is inspected as it moves
(``formats.py``): data refused there fails the import in every store it was meant for (the
image goes back to ``queued``; a copy leaves the image as it was). The job itself (method,
stores, URI, which process runs it and when that process last said so) is kept in the hidden
``os_glance_import_job``, refreshed every ``recovery_lease / 4`` seconds while it runs: an
import whose process died is resumed from it, by the next start or by the periodic recovery
(see ``reconcile.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from nubes.core.context import RequestContext
from nubes.core.exceptions import BadRequest
from nubes.image import policies
from nubes.image.db.queries import images as q
from nubes.image.drivers.base import StoreError, WriteResult
from nubes.image.exceptions import ImageConflict, InvalidImageData
from nubes.image.service import formats, quotas, tasks
from nubes.image.service.access import Authorizer
from nubes.image.service.data import HASH_ALGO, limited
from nubes.image.service.images import visible
from nubes.image.service.import_jobs import FAILED, IMPORTING, JOB, LOCK, ImportJob, ImportManager

__all__ = ["FAILED", "IMPORTING", "JOB", "LOCK", "ImportJob", "ImportManager", "run", "start_import"]
from nubes.image.service.records import ImageRecord, load

LOG = logging.getLogger(__name__)

METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")


# ------------------------------------------------------------------ request validation

def allowed_url(uri: str, allowed: list[str]) -> bool:
    """An operator allow-list entry is a URL prefix ("https://mirror/") or a bare host name."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    for entry in allowed:
        entry = entry.strip()
        if not entry:
            continue
        if "://" in entry:
            if uri.startswith(entry):
                return True
        elif parts.hostname.lower() == entry.lower():
            return True
    return False


def _stores_from_request(state: Any, body: dict[str, Any], header_store: str | None,
                         image: ImageRecord, method: str) -> list[str]:
    stores, all_stores = body.get("stores"), body.get("all_stores", False)
    if all_stores and (stores or header_store):
        raise BadRequest("All_stores parameter can't be used with x-image-meta-store header or "
                         "stores parameter")
    if all_stores:
        ids = list(state.stores.by_id)
        if method == "copy-image":
            ids = [i for i in ids if i not in image.stores]
        return ids
    if stores is not None:
        if not isinstance(stores, list) or not all(isinstance(x, str) for x in stores):
            raise BadRequest("'stores' must be a list of store identifiers")
        ids = list(dict.fromkeys(stores))
    else:
        ids = [header_store or state.stores.default_id]
    for sid in ids:
        if state.stores.get(sid) is None:
            raise ImageConflict(f"Store for identifier {sid} not found")
    return ids


def _validate_body(state: Any, body: Any) -> tuple[str, bool]:
    if not isinstance(body, dict):
        raise BadRequest("Unexpected body type. Expected list/dict.")
    method = body.get("method")
    if not isinstance(method, dict):
        raise BadRequest("Import request requires a 'method' field.")
    name = method.get("name")
    if name is None:
        raise BadRequest("Import request requires a 'name' field.")
    if name not in state.conf.enabled_import_methods or name not in METHODS:
        raise BadRequest(f"Unknown import method name '{name}'.")
    if name == "glance-download":
        raise BadRequest("The 'glance-download' import method is not supported by this cloud.")
    must = body.get("all_stores_must_succeed", True)
    if not isinstance(must, bool):
        raise BadRequest("'all_stores_must_succeed' must be boolean value only")
    if not isinstance(body.get("all_stores", False), bool):
        raise BadRequest("'all_stores' must be boolean value only")
    return name, must


def _check_state(image: ImageRecord, method: str) -> None:
    if image.status == "active" and method != "copy-image":
        raise ImageConflict("Image with status active cannot be target for import")
    if image.status != "active" and method == "copy-image":
        raise ImageConflict("Only images with status active can be targeted for copying")
    if image.status != "queued" and method == "web-download":
        raise ImageConflict(f"Image needs to be in 'queued' state to use '{method}' method")
    if image.status != "uploading" and method == "glance-direct":
        raise ImageConflict("Image needs to be staged before 'glance-direct' method can be used")
    if not image.container_format:
        raise ImageConflict("'container_format' needs to be set before import")
    if not image.disk_format:
        raise ImageConflict("'disk_format' needs to be set before import")


async def start_import(state: Any, ctx: RequestContext, authz: Authorizer, image_id: str, body: Any,
                       header_store: str | None) -> None:
    method, must = _validate_body(state, body)
    uri = body["method"].get("uri")
    if method == "web-download":
        if not isinstance(uri, str) or not uri:
            raise BadRequest("Import method web-download requires a 'uri'.")
        if not allowed_url(uri, state.conf.web_download_allowed):
            raise BadRequest(f"URI for web-download does not pass filtering: {uri} (the operator "
                             "allows only URLs listed in [image] web_download_allowed)")
    async with state.db.reader() as s:
        image, member = await visible(s, ctx, image_id)
    await state.quotas.enforce(image.owner, quotas.SIZE_TOTAL,
                               lambda: _mib(state.stored_bytes(image.owner)), 0)
    _check_state(image, method)
    if method == "copy-image":
        authz.image(policies.COPY_IMAGE, image, member)
    else:
        authz.image(policies.MODIFY_IMAGE, image, member)
    stores = _stores_from_request(state, body, header_store, image, method)
    if method == "copy-image":
        if not body.get("all_stores"):
            for sid in stores:
                if sid in image.stores:
                    raise BadRequest(f"Image is already present at store '{sid}'")
        if not stores:
            return
    job = ImportJob(image_id, method, stores, must, uri)
    await _lock(state, image, job, ctx, {"image_id": image_id, "import_req": body, "backend": stores})
    state.imports.jobs[image_id] = job
    state.imports.start(image_id, lambda: run(state, job))


async def start_task_import(state: Any, ctx: RequestContext, image: ImageRecord, uri: str,
                            task_id: str) -> None:
    """The job of a tasks-API ``import`` task: a web-download of ``uri`` into the default store."""
    job = ImportJob(image.id, "web-download", [state.stores.default_id], True, uri, task_id=task_id)
    await _lock(state, image, job, ctx, None)
    state.imports.jobs[image.id] = job
    state.imports.start(image.id, lambda: run(state, job))


async def _mib(value: Any) -> int:
    return int(await value) // quotas.MIB


async def _lock(state: Any, image: ImageRecord, job: ImportJob, ctx: RequestContext,
                task_input: dict[str, Any] | None) -> None:
    """Take the image's import lock and record the import's task, in one transaction."""
    async with state.db.session() as s:
        row = await q.get(s, image.id, for_update=True)
        props = (await q.properties_of(s, [image.id]))[image.id]
        if row is None:
            raise ImageConflict(f"Image {image.id} was deleted")
        if LOCK in props:
            raise ImageConflict(f"New operation on image '{image.id}' is not permitted as prior "
                                "operation is still in progress")
        if row.status != image.status:
            raise ImageConflict(f"Image status changed to {row.status} while the import was requested")
        props[LOCK] = job.task_id
        props[JOB] = job.dump()
        importing_to(props, job.stores)
        await q.set_properties(s, image.id, props)
        # The task is the caller's project's, as Glance's (an admin's copy of another's image too).
        await tasks.begin(s, job.task_id, "api_image_import", ctx, ctx.project_id or image.owner, image.id,
                          task_input or {})
        if job.method != "copy-image":
            await q.transition(s, image.id, [image.status], "importing")


# ------------------------------------------------------------------ the background work

async def run(state: Any, job: ImportJob) -> None:
    try:
        await _run(state, job)
    except asyncio.CancelledError:
        LOG.info("import of image %s stopped (image deleted or service stopping)", job.image_id)
        raise
    except Exception as exc:
        LOG.exception("import of image %s failed", job.image_id)
        await _finish(state, job, [], list(job.stores), None, [f"{type(exc).__name__}: {exc}"])


async def _run(state: Any, job: ImportJob) -> None:
    async with state.db.reader() as s:
        image = await _record(s, job.image_id)
        staged = await q.staged(s, job.image_id)
    if image is None:
        return
    first_source: Callable[[], AsyncIterator[bytes]]
    first_size: int | None = None       # the source's length where known: a store may use it
    if job.method == "glance-direct":
        if staged is None:
            raise RuntimeError("no staged data")
        url, first_size = staged.url, staged.size
        first_source = lambda: state.stores.staging.read(url)  # noqa: E731
    elif job.method == "web-download":
        left = await state.quotas.remaining_bytes(image.owner, quotas.SIZE_TOTAL,
                                                  lambda: state.stored_bytes(image.owner))
        first_source = lambda: limited(_http_stream(job.uri or ""), state.conf.image_size_cap,  # noqa: E731
                                       left, quotas.SIZE_TOTAL, image.owner)
    else:
        src = next(loc for loc in image.locations if state.stores.get(loc.store_id))
        src_store, first_size = state.stores.get(src.store_id), image.size
        first_source = lambda: src_store.read(src.url)  # noqa: E731
    done: list[tuple[str, WriteResult]] = []
    failed: list[str] = []
    why: list[str] = []          # what went wrong, for the task's message
    vsize = None
    for i, sid in enumerate(job.stores):
        if job.method == "copy-image" and sid in image.stores:
            await _progress(state, job, sid, failed)   # copied before an interruption
            continue
        if done and job.method != "copy-image":
            # Later stores copy from the first one that succeeded, not from the source again.
            first_sid, first = done[0]
            tap = formats.InspectingTap(state.stores.get(first_sid).read(first.location), image, state.conf)
            size = first.size
        else:
            tap = formats.InspectingTap(first_source(), image, state.conf)
            size = first_size
        try:
            result = await state.stores.get(sid).write(job.image_id, tap.__aiter__(), size=size)
        except InvalidImageData as exc:
            # The data itself is refused: no other store would take it either.
            LOG.warning("import of image %s (%s) refused: %s", job.image_id, job.method, exc.message)
            why.append(exc.message)
            failed.extend(job.stores[i:])
            await _progress(state, job, sid, failed)
            break
        except Exception as exc:
            LOG.warning("import of image %s into store %s failed: %s", job.image_id, sid, exc)
            why.append(f"store {sid}: {exc}")
            failed.append(sid)
            await _progress(state, job, sid, failed)
            continue
        vsize = vsize if done else tap.virtual_size
        if job.method == "copy-image" and image.checksum and result.md5 != image.checksum:
            LOG.error("copy of image %s to store %s has checksum %s, expected %s", job.image_id, sid,
                      result.md5, image.checksum)
            await state.discard(sid, result.location)
            why.append(f"store {sid}: the copy's checksum {result.md5} is not the image's")
            failed.append(sid)
            await _progress(state, job, sid, failed)
            continue
        if job.method == "copy-image":
            if not await _progress(state, job, sid, failed, result):
                await state.discard(sid, result.location)     # the image went away meanwhile
                continue
            done.append((sid, result))
        else:
            done.append((sid, result))
            await _progress(state, job, sid, failed)
    if failed and job.all_must_succeed and job.method != "copy-image":
        for sid, result in done:
            await state.discard(sid, result.location)
        done = []
    await _finish(state, job, done, failed, vsize, why)


async def _http_stream(uri: str) -> AsyncIterator[bytes]:
    async with (httpx.AsyncClient(timeout=httpx.Timeout(60.0), follow_redirects=False) as client,
                client.stream("GET", uri) as resp):
        if resp.status_code != 200:
            raise StoreError(f"web-download of {uri} answered HTTP {resp.status_code}")
        async for chunk in resp.aiter_raw(1 << 20):
            yield chunk


async def _record(s: Any, image_id: str) -> ImageRecord | None:
    return await load(s, image_id)


def _ids(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


def importing_to(props: dict[str, str | None], stores: list[str]) -> None:
    """An import into ``stores`` begins: Glance adds them to ``os_glance_importing_to_stores`` and
    takes them out of ``os_glance_failed_import``; both stay on the image, "" when empty, which is
    what clients waiting on an import read (an absent one means the import has not begun)."""
    props[IMPORTING] = ",".join(dict.fromkeys([*_ids(props.get(IMPORTING)), *stores]))
    props[FAILED] = ",".join(x for x in _ids(props.get(FAILED)) if x not in stores)


def _failed_in(props: dict[str, str | None], failed: list[str]) -> None:
    props[FAILED] = ",".join(dict.fromkeys([*_ids(props.get(FAILED)), *failed]))


async def _progress(state: Any, job: ImportJob, sid: str, failed: list[str],
                    copied: WriteResult | None = None) -> bool:
    """One store is done (or failed): it leaves ``os_glance_importing_to_stores`` at once. A copy
    is added to the image's locations in the same step, so a client that sees the store leave the
    list sees it in ``stores`` (Glance adds each store's location as it completes). False when the
    import is no longer this job's (the image was deleted): nothing was recorded."""
    async with state.db.session() as s:
        row = await q.get(s, job.image_id, for_update=True)
        props = (await q.properties_of(s, [job.image_id]))[job.image_id]
        if row is None or props.get(LOCK) != job.task_id:
            return False
        props[IMPORTING] = ",".join(x for x in _ids(props.get(IMPORTING)) if x != sid)
        _failed_in(props, failed)
        await q.set_properties(s, job.image_id, props)
        if copied is not None:
            await q.add_location(s, job.image_id, sid, copied.location, copied.size)
    return True


async def _finish(state: Any, job: ImportJob, done: list[tuple[str, WriteResult]], failed: list[str],
                  vsize: int | None, why: list[str] | None = None) -> None:
    orphans: list[tuple[str, str]] = []
    ok = bool(done or (job.method == "copy-image" and not failed)) and not (failed and job.all_must_succeed)
    message = "; ".join(why or []) or (f"the import failed in {','.join(failed)}" if failed else "")
    async with state.db.session() as s:
        row = await q.get(s, job.image_id, for_update=True)
        props = (await q.properties_of(s, [job.image_id]))[job.image_id]
        if row is None or props.get(LOCK) != job.task_id:
            if job.method != "copy-image":      # a copy's locations went in as each was done
                orphans = [(sid, r.location) for sid, r in done]
            if row is None:
                await tasks.finish(s, job.task_id, False, "the image was deleted during its import")
        else:
            await tasks.finish(s, job.task_id, ok, message)
            for k in (LOCK, JOB):
                props.pop(k, None)
            props[IMPORTING] = ",".join(x for x in _ids(props.get(IMPORTING)) if x not in job.stores)
            _failed_in(props, failed)
            await q.set_properties(s, job.image_id, props)
            if job.method != "copy-image":
                for sid, r in done:
                    await q.add_location(s, job.image_id, sid, r.location, r.size)
            if job.method != "copy-image":
                if done:
                    first = done[0][1]
                    await q.transition(s, job.image_id, ["importing"], "active", size=first.size,
                                       checksum=first.md5, os_hash_algo=HASH_ALGO,
                                       os_hash_value=first.sha512, virtual_size=vsize)
                else:
                    await q.transition(s, job.image_id, ["importing"], "queued", size=None)
                staged = await q.drop_staged(s, job.image_id)
                if staged is not None:
                    orphans.append((state.stores.staging.store_id, staged.url))
    for sid, url in orphans:
        await state.discard(sid, url)
    LOG.info("import of image %s (%s) finished: stored in %s%s", job.image_id, job.method,
             ",".join(sid for sid, _ in done) or "no store",
             f"; failed in {','.join(failed)}" if failed else "")
