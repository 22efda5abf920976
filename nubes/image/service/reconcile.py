"""Repair of what a crash or a restart left in the middle of an upload or an import.

At start (in the one process of the host that takes the image service's lock):

- images stuck in ``saving`` (an upload was cut off) go back to ``queued``, as in Glance;
- interrupted imports are recovered (below);
- partial files (``.part``) in every store are removed, and so is any stored file that no
  image location refers to, and any staged file no staging record refers to.

Imports, at start and then every ``recovery_interval`` seconds in every image API process
(``ImportRecovery``): an import whose owner is gone (``import_jobs.owner_gone``: it has not
refreshed its job for ``recovery_lease`` seconds, or it was a process of this host that is no
longer there) is taken over (a compare-and-set of its job) and **resumed** — run again from its
source into every store it was going to (a store's file is replaced whole, so nothing is written
twice): glance-direct from its staged data, web-download from its URL, copy-image from the
image's stored copy. One that cannot be (its source is gone, or no job was kept) **fails
cleanly**: its lock goes, the stores it was importing to are listed in
``os_glance_failed_import``, and the image goes back to ``uploading`` when its staged data is
still there (the client can import again), else to ``queued``; a copy-image leaves the image
active as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from typing import Any

from nubes.core.reconcile import Reconciler
from nubes.image.drivers.base import StoreError
from nubes.image.db.queries import images as q
from nubes.image.service.import_jobs import FAILED, IMPORTING, JOB, LOCK, ImportJob, owner_gone
from nubes.image.service import tasks
from nubes.image.service.imports import importing_to, run

LOG = logging.getLogger(__name__)


async def reconcile(state: Any) -> None:
    """The start-up repair."""
    async with state.db.session() as s:
        for row in await q.in_status(s, ["saving"]):
            await q.transition(s, row.id, ["saving"], "queued", size=None)
            LOG.warning("image %s was being uploaded when the service stopped; back to queued", row.id)
    await _remove_leftover_files(state)
    # After the files: a resumed import writes new ones.
    for image_id in await locked_images(state):
        await recover_import(state, image_id, at_start=True)


async def _remove_leftover_files(state: Any) -> None:
    async with state.db.reader() as s:
        live = await q.all_location_urls(s)
        staged_urls = {r.url for r in await q.all_staged(s)}
    removed = 0
    for store in state.stores.all():
        keep = staged_urls if store is state.stores.staging else live
        try:
            removed += await store.discard_partial()
            for url in await store.locations():
                if url not in keep:
                    await store.delete(url)
                    removed += 1
        except StoreError as exc:
            # A store in another service (object storage) may still be starting: its leftovers wait
            # for the next start, and the service starts meanwhile.
            LOG.warning("leftover image data in store %s not checked: %s", store.store_id, exc)
    if removed:
        LOG.info("removed %d leftover image files", removed)


async def locked_images(state: Any) -> list[str]:
    async with state.db.reader() as s:
        return await q.with_property(s, LOCK)


async def recover_import(state: Any, image_id: str, *, at_start: bool = False) -> str | None:
    """Resume or fail the import of ``image_id`` if its owner is gone; what was done, if anything."""
    if state.imports.running(image_id):
        return None
    lease = float(state.conf.recovery_lease)
    async with state.db.reader() as s:
        props = (await q.properties_of(s, [image_id])).get(image_id) or {}
    if LOCK not in props:
        return None
    loaded = ImportJob.load(props.get(JOB))
    if loaded is None:
        if not at_start:           # no job kept (an import of an older version): only a start knows
            return None
        return await _fail(state, image_id, props.get(LOCK), props.get(JOB), "its job was not kept")
    job, owner = loaded
    if job.task_id != props.get(LOCK) or not owner_gone(owner, lease):
        return None
    why = await _unresumable(state, job)
    if why:
        return await _fail(state, image_id, job.task_id, props.get(JOB), why)
    if not await _take_over(state, job, props.get(JOB)):
        return None
    LOG.warning("import of image %s (%s to %s) was interrupted; resuming it", image_id, job.method,
                ",".join(job.stores))
    state.imports.jobs[image_id] = job
    state.imports.start(image_id, lambda: run(state, job))
    return "resumed"


async def _unresumable(state: Any, job: ImportJob) -> str | None:
    async with state.db.reader() as s:
        row = await q.get(s, job.image_id)
        staged = await q.staged(s, job.image_id)
        locations = (await q.locations_of(s, [job.image_id])).get(job.image_id) or []
    if row is None:
        return "the image is gone"
    wanted = "active" if job.method == "copy-image" else "importing"
    if row.status != wanted:
        return f"the image is {row.status}"
    if job.method == "glance-direct" and staged is None:
        return "its staged data is gone"
    if job.method == "web-download" and not job.uri:
        return "its URL was not kept"
    if job.method == "copy-image" and not any(state.stores.get(loc.store_id) for loc in locations):
        return "no stored copy is left to copy from"
    if any(state.stores.get(sid) is None for sid in job.stores):
        return "one of its stores is no longer configured"
    return None


async def _take_over(state: Any, job: ImportJob, seen: str | None) -> bool:
    """The job is this process's now, unless someone changed it since it was read."""
    async with state.db.session() as s:
        row = await q.get(s, job.image_id, for_update=True)
        props = (await q.properties_of(s, [job.image_id])).get(job.image_id) or {}
        if row is None or props.get(LOCK) != job.task_id or props.get(JOB) != seen:
            return False
        props[JOB] = job.dump()
        importing_to(props, job.stores)
        await q.set_properties(s, job.image_id, props)
    return True


async def _fail(state: Any, image_id: str, task_id: str | None, seen: str | None, why: str) -> str | None:
    async with state.db.session() as s:
        row = await q.get(s, image_id, for_update=True)
        props = (await q.properties_of(s, [image_id])).get(image_id) or {}
        if row is None or props.get(LOCK) != task_id or props.get(JOB) != seen:
            return None
        stores = props.get(IMPORTING) or ""
        props[IMPORTING] = ""
        props.pop(LOCK, None)
        props.pop(JOB, None)
        if stores:
            failed = [x for x in (props.get(FAILED) or "").split(",") if x]
            props[FAILED] = ",".join(dict.fromkeys([*failed, *stores.split(",")]))
        await q.set_properties(s, image_id, props)
        back = "uploading" if await q.staged(s, image_id) is not None else "queued"
        moved = await q.transition(s, image_id, ["importing"], back)
        if task_id:
            await tasks.finish(s, task_id, False, f"the import was interrupted and cannot be resumed: {why}")
    LOG.warning("import of image %s was interrupted and cannot be resumed (%s)%s", image_id, why,
                f"; back to {back}" if moved else "")
    return "failed"


class ImportRecovery(Reconciler):
    """Every ``recovery_interval`` seconds: the imports of every process whose owner is gone."""

    name = "image-import-recovery"

    def __init__(self, state: Any) -> None:
        super().__init__()
        self.state = state
        self.resync = max(0.5, float(state.conf.recovery_interval))
        self.concurrency = 2

    async def keys(self) -> Iterable[Hashable]:
        return [i for i in await locked_images(self.state) if not self.state.imports.running(i)]

    async def reconcile(self, key: Hashable) -> None:
        await recover_import(self.state, str(key))
