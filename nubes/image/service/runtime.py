"""The image service's long-lived state: stores, quotas, import tasks and the schemas it serves."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from typing import Any

from nubes.image.db.queries import images as q
from nubes.image.service import schemas
from nubes.image.service.imports import ImportManager
from nubes.image.service.quotas import Quotas, UnifiedLimits
from nubes.image.service.reconcile import ImportRecovery, reconcile
from nubes.image.service.stores import Stores

LOG = logging.getLogger(__name__)

STORE_SERVICES_WAIT = 30.0       # seconds a start waits for the services stores keep data in


class ImageState:
    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.conf = rt.service_conf
        self.db = rt.db
        self.stores = Stores(self.conf, rt.conf.core.state_dir, getattr(rt, "clients", None))
        self.limits: UnifiedLimits | None = None
        if self.conf.use_keystone_limits and rt.tokens is not None:
            self.limits = UnifiedLimits(rt.tokens, ttl=self.conf.limits_cache_ttl)
        self.quotas = Quotas(self.limits)
        self.imports = ImportManager()
        self._lock_fd: int | None = None
        self._tasks: list[asyncio.Task] = []
        self.image_schema = schemas.image_schema(list(self.conf.disk_formats),
                                                 list(self.conf.container_formats))

    async def start(self) -> None:
        # This process's imports say they still run; every process takes over imports whose
        # process is gone (reconcile.ImportRecovery).
        beat = max(0.5, float(self.conf.recovery_lease) / 4)
        self._tasks = [asyncio.create_task(self.imports.heartbeats(self, beat), name="image-import-heartbeats")]
        try:
            await self._repair()
        finally:
            self._tasks.append(asyncio.create_task(ImportRecovery(self).run(), name="image-import-recovery"))

    async def _repair(self) -> None:
        # Only a process that can take this lock may repair leftover files: if another image API
        # process (a `nubes serve image --workers N` sibling) holds it, that one already did and
        # whatever looks half-done may be its work in progress.
        path = self.rt.conf.core.state_dir / "image-service.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return
        self._lock_fd = fd
        await self._wait_for_store_services()
        await reconcile(self)

    async def _wait_for_store_services(self) -> None:
        """Stores that keep data in another service (object storage) are checked for leftovers only
        before requests are taken (later, a write in progress would look like one): in a cloud that
        starts all at once, give those services a moment to answer first."""
        needed = tuple(dict.fromkeys(t for st in self.stores.all() for t in getattr(st, "needs", ())))
        wait = getattr(self.rt.clients, "wait_until_reachable", None)
        if not needed or wait is None:
            return
        missing = await wait(needed, timeout=STORE_SERVICES_WAIT)
        if missing:
            LOG.warning("%s not answering after %.0f s: leftover data in its stores is checked at the next "
                        "start", ", ".join(missing), STORE_SERVICES_WAIT)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.imports.close()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None
        if self.limits is not None:
            await self.limits.http.aclose()

    async def discard(self, store_id: str, url: str) -> None:
        """Remove data no image needs any more; a failure is logged and left for the next start."""
        store = self.stores.get(store_id) or (
            self.stores.staging if store_id == self.stores.staging.store_id else None)
        if store is None:
            LOG.warning("cannot remove %s: store %s is no longer configured", url, store_id)
            return
        try:
            await store.delete(url)
        except Exception:
            LOG.exception("could not remove image data at %s", url)

    # usage figures for quotas
    async def count_images(self, owner: str) -> int:
        async with self.db.reader() as s:
            return await q.count_images(s, owner)

    async def count_uploading(self, owner: str) -> int:
        async with self.db.reader() as s:
            return await q.count_uploading(s, owner)

    async def stored_bytes(self, owner: str) -> int:
        async with self.db.reader() as s:
            return await q.stored_bytes(s, owner)

    async def staged_bytes(self, owner: str) -> int:
        async with self.db.reader() as s:
            return await q.staged_bytes(s, owner)
