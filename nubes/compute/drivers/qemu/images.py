"""Base images on the compute host: fetched once from the image service, verified, shared.

``ImageCache(root, source, checks)`` keeps ``<root>/<image id>`` files. ``fetch(image)``
streams the image's data from its ``ImageSource`` to ``<id>.part``, inspecting its format as
it passes (``inspection.ImageChecks``: data that is not its ``disk_format``, or is unsafe,
stops the download), checks it against the record's ``os_hash_value`` (``os_hash_algo``) or
``checksum`` (MD5), and renames it into place, so an image is whole and inspected, or absent.
``verify(image, path)`` inspects a cached file again before a disk is made on it. Concurrent
fetches of one image, from coroutines of this process or from other processes sharing the
cache, wait for the first (an asyncio lock, then an ``flock`` on ``<id>.lock``) and find the
file there.

Sources: ``GlanceImages(clients)`` talks to the image service through the agent's
``ServiceClients`` (``GET /v2/images/{id}`` and ``/file``, streamed, service token);
``LocalImages`` serves records and files it is given (tests, or images a caller already has).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from nubes.compute.drivers.base import CHUNK, SpawnFailed
from nubes.compute.drivers.qemu.inspection import ImageChecks
from nubes.core.concurrency import run_blocking
from nubes.core.disk_formats import StreamInspector


class ImageSource(Protocol):
    async def record(self, image_id: str) -> dict[str, Any]: ...

    def data(self, image_id: str) -> AsyncIterator[bytes]: ...


def prop(image: dict[str, Any], key: str) -> Any:
    """An image property, whether Glance put it at the top level (v2) or under ``properties``."""
    value = image.get(key)
    if value is None:
        value = (image.get("properties") or {}).get(key)
    return value


class GlanceImages:
    def __init__(self, clients: Any) -> None:
        self.clients = clients

    async def record(self, image_id: str) -> dict[str, Any]:
        r = await self.clients.request("image", "GET", f"/v2/images/{image_id}")
        if r.status_code != 200:
            raise SpawnFailed(f"Image {image_id} could not be found.", retryable=False)
        return r.json()

    async def data(self, image_id: str) -> AsyncIterator[bytes]:
        path = f"/v2/images/{image_id}/file"
        http, endpoint = getattr(self.clients, "http", None), getattr(self.clients, "endpoint", None)
        if http is None or endpoint is None:         # a client without streaming: one response
            r = await self.clients.request("image", "GET", path)
            self._check(image_id, r.status_code)
            yield r.content
            return
        url = f"{await endpoint('image')}{path}"
        token = await self.clients.tokens.service_token()
        async with http.stream("GET", url, headers={"X-Auth-Token": token}, timeout=None) as r:
            self._check(image_id, r.status_code)
            async for chunk in r.aiter_bytes(CHUNK):
                yield chunk

    @staticmethod
    def _check(image_id: str, status: int) -> None:
        if status == 204:
            raise SpawnFailed(f"Image {image_id} has no data.", retryable=False)
        if status != 200:
            raise SpawnFailed(f"Downloading image {image_id} failed: the image service answered {status}.",
                              retryable=status >= 500)


class LocalImages:
    """Images from files: ``{id: (record, path)}``."""

    def __init__(self, images: dict[str, tuple[dict[str, Any], Path]] | None = None) -> None:
        self.images = dict(images or {})

    def add(self, record: dict[str, Any], path: Path) -> None:
        self.images[str(record["id"])] = (record, Path(path))

    async def record(self, image_id: str) -> dict[str, Any]:
        if image_id not in self.images:
            raise SpawnFailed(f"Image {image_id} could not be found.", retryable=False)
        return dict(self.images[image_id][0])

    async def data(self, image_id: str) -> AsyncIterator[bytes]:
        path = self.images[image_id][1]
        fh = await run_blocking(open, path, "rb")
        try:
            while chunk := await run_blocking(fh.read, CHUNK):
                yield chunk
        finally:
            await run_blocking(fh.close)


def file_digest(path: Path, algo: str) -> str:
    h = hashlib.new(algo)
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


class ImageCache:
    def __init__(self, root: Path, source: ImageSource | None, checks: ImageChecks | None = None) -> None:
        self.root = root
        self.source = source
        self.checks = checks or ImageChecks()
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self.fetches = 0                 # downloads this cache made (tests count them)

    def path(self, image_id: str) -> Path:
        return self.root / image_id

    async def record(self, image: dict[str, Any] | str) -> dict[str, Any]:
        """The full record of ``image`` (a record, possibly partial, or an id)."""
        if isinstance(image, dict) and image.get("disk_format") and image.get("status", "active"):
            return image
        image_id = image if isinstance(image, str) else str(image.get("id") or "")
        if not image_id:
            raise SpawnFailed("No image given.", retryable=False)
        if self.source is None:
            raise SpawnFailed(f"Image {image_id}: this driver has no image service to fetch it from.",
                              retryable=False)
        return await self.source.record(image_id)

    async def fetch(self, image: dict[str, Any]) -> Path:
        """The cached file of ``image`` (its full record), downloading it first if needed."""
        image_id = str(image["id"])
        if image.get("status") not in (None, "active"):
            raise SpawnFailed(f"Image {image_id} is {image.get('status')}, not active.", retryable=False)
        target = self.path(image_id)
        async with self._locks[image_id]:
            if await run_blocking(target.exists):
                return target
            await run_blocking(self.root.mkdir, parents=True, exist_ok=True)
            lock = await run_blocking(open, self.root / f"{image_id}.lock", "w")
            try:
                await run_blocking(fcntl.flock, lock, fcntl.LOCK_EX)
                if not await run_blocking(target.exists):      # another process may have made it
                    await self._download(image, target)
            finally:
                await run_blocking(lock.close)
        return target

    async def _download(self, image: dict[str, Any], target: Path) -> None:
        if self.source is None:
            raise SpawnFailed(f"Image {image['id']} is not cached and there is no image service.",
                              retryable=False)
        part = target.with_name(target.name + ".part")
        algo = image.get("os_hash_algo") if image.get("os_hash_value") else None
        want = image.get("os_hash_value") if algo else image.get("checksum")
        h = hashlib.new(algo or "md5")
        inspector, judged = StreamInspector(), 0
        fh = await run_blocking(open, part, "wb")
        size = 0
        try:
            async for chunk in self.source.data(str(image["id"])):
                h.update(chunk)
                size += len(chunk)
                inspector.feed(chunk)
                if inspector.examined != judged:     # stop as soon as what arrived is refused
                    judged = inspector.examined
                    if (refused := self.checks.refusal(image, inspector.inspection)) is not None:
                        raise refused
                await run_blocking(fh.write, chunk)
            await run_blocking(fh.flush)
            await run_blocking(os.fsync, fh.fileno())
        except BaseException:
            await run_blocking(fh.close)
            await run_blocking(part.unlink, missing_ok=True)
            raise
        await run_blocking(fh.close)
        if want and h.hexdigest() != want:
            await run_blocking(part.unlink, missing_ok=True)
            raise SpawnFailed(f"Image {image['id']}: the data downloaded ({size} bytes) does not match "
                              f"its {algo or 'md5'} checksum.", retryable=True)
        if image.get("size") not in (None, size):
            await run_blocking(part.unlink, missing_ok=True)
            raise SpawnFailed(f"Image {image['id']}: {size} bytes downloaded, {image['size']} expected.",
                              retryable=True)
        refused = self.checks.refusal(image, inspector.finish())
        if refused is not None:
            await run_blocking(part.unlink, missing_ok=True)
            raise refused
        await run_blocking(os.replace, part, target)
        self.fetches += 1

    async def verify(self, image: dict[str, Any], path: Path) -> None:
        """Inspect a cached image again, from the file QEMU is about to open (it may have been
        cached before its format was checked, or by another process)."""
        await self.checks.check_file(image, path)

    async def forget(self, image_id: str) -> None:
        await run_blocking(self.path(image_id).unlink, missing_ok=True)
