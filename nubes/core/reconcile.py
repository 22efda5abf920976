"""Reconcile loops: converge actual state to desired state, one key at a time, forever.

A ``Reconciler`` subclass says which keys exist (``keys()``, listed every ``resync``
seconds) and how to converge one of them (``reconcile(key)``, idempotent: it reads the
desired state, looks at the actual one and applies the difference). Events only
``enqueue(key)``; a key queued several times before it runs is reconciled once. A failing
key is retried with exponential backoff (``retry_base`` doubling up to ``retry_max``) and its
exception is logged with the traceback once per failure streak (a ``CloudError`` — a service
that does not answer yet, a refusal — with its message only); other keys go on.

``run()`` loops until cancelled; tests call ``reconcile`` directly or ``run_once()``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sys
import time
from collections.abc import Hashable, Iterable
from typing import Any

from nubes.core.exceptions import CloudError

LOG = logging.getLogger(__name__)


class Reconciler:
    name = "reconciler"
    resync: float = 60.0
    retry_base: float = 1.0
    retry_max: float = 60.0
    concurrency: int = 4

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Hashable] = asyncio.Queue()
        self._pending: set[Hashable] = set()
        self._failures: dict[Hashable, int] = {}
        self._retry_at: dict[Hashable, float] = {}

    # -- what subclasses provide -------------------------------------------------------------
    async def keys(self) -> Iterable[Hashable]:
        """Every key that should be looked at on a full resync."""
        return []

    async def reconcile(self, key: Hashable) -> None:
        """Converge one key; raise to be retried later."""
        raise NotImplementedError

    # -- driving ---------------------------------------------------------------------------
    def enqueue(self, key: Hashable) -> None:
        if key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    async def resync_all(self) -> None:
        for key in await self.keys():
            self.enqueue(key)

    async def _one(self, key: Hashable) -> None:
        self._pending.discard(key)
        try:
            await self.reconcile(key)
        except asyncio.CancelledError:
            raise
        except Exception:
            n = self._failures.get(key, 0) + 1
            self._failures[key] = n
            delay = min(self.retry_max, self.retry_base * 2 ** (n - 1)) * random.uniform(0.8, 1.2)
            if n == 1 and isinstance(sys.exc_info()[1], CloudError):
                LOG.warning("%s: reconciling %r failed (%s); retrying in %.1fs", self.name, key,
                            sys.exc_info()[1], delay)
            elif n == 1:
                LOG.exception("%s: reconciling %r failed; retrying in %.1fs", self.name, key, delay)
            else:
                LOG.warning("%s: reconciling %r failed again (%d times); retrying in %.1fs",
                            self.name, key, n, delay)
            self._retry_at[key] = time.monotonic() + delay
        else:
            if self._failures.pop(key, None):
                LOG.info("%s: %r converged after failures", self.name, key)
            self._retry_at.pop(key, None)

    async def run_once(self) -> None:
        """Resync, then reconcile everything queued (tests; the first pass of run())."""
        await self.resync_all()
        while not self._queue.empty():
            await self._one(self._queue.get_nowait())

    async def _retries(self) -> None:
        while True:
            now = time.monotonic()
            for key, at in list(self._retry_at.items()):
                if at <= now:
                    del self._retry_at[key]
                    self.enqueue(key)
            await asyncio.sleep(0.2)

    async def _resyncs(self) -> None:
        while True:
            try:
                await self.resync_all()
            except asyncio.CancelledError:
                raise
            except Exception:
                LOG.exception("%s: listing keys for a resync failed", self.name)
            await asyncio.sleep(self.resync)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            await self._one(key)

    async def run(self) -> Any:
        tasks = [asyncio.create_task(self._resyncs(), name=f"{self.name}-resync"),
                 asyncio.create_task(self._retries(), name=f"{self.name}-retries")]
        tasks += [asyncio.create_task(self._worker(), name=f"{self.name}-worker-{i}")
                  for i in range(self.concurrency)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
