"""An object-storage image store: image data as objects in the image service's own Swift account.

This is Glance's single-tenant swift store. Objects live in the account of the project the image
service's token is scoped to (``AUTH_<service project id>``: the ``object-store`` endpoint the
catalog gives that token), in one container (``glance`` by default), named by image id. The
image service talks to object storage over REST only, with its service token (a 401 gets a new
token and one more try, where the request can be sent again).

Writes stream: chunks are gathered into buffers of ``chunk_size`` bytes and sent as a chunked
PUT while MD5 and SHA-512 are computed in threads beside the send. An image whose size is not
over ``large_object_size`` is one object (its ETag checked against our MD5). A larger one, or one
of unknown size that does not end within its first buffers, is written as segments of
``large_object_chunk_size`` bytes in ``<container>_segments`` under ``<image id>/<write id>/``,
then a DLO manifest (``X-Object-Manifest``) is put at the image's name; the manifest is read
back (length and segment ETags) before the write counts as done. A failed write removes what
it put. The location is ``swift+config://<store id>/<container>/<image id>``: as Glance's
``swift+config`` locations, it names the store's configuration, never credentials or hosts.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

import httpx

from nubes.core.concurrency import cancelled_if_cancelling, run_blocking
from nubes.core.config import ConfigError
from nubes.core.context import current_request_id
from nubes.core.exceptions import ServiceUnavailable
from nubes.image.drivers.base import DataNotFound, StoreError, StoreFull, WriteResult

LOG = logging.getLogger(__name__)

SCHEME = "swift+config"
OPTIONS = ("container", "large_object_size", "large_object_chunk_size")
_LISTING_LIMIT = 10000
_TAGS = re.compile(r"<[^>]+>")


class SwiftStore:
    store_type = "swift"
    needs = ("object-store",)          # the service the data is in (the image service waits for it at start)

    def __init__(self, store_id: str, clients: Any, description: str = "", *, container: str = "glance",
                 large_object_size: int = 5 << 30, large_object_chunk_size: int = 200 << 20,
                 chunk_size: int = 4 << 20, read_chunk_size: int = 4 << 20) -> None:
        self.store_id = store_id
        self.description = description
        self.clients = clients          # nubes.core.clients.ServiceClients: catalog, token, httpx
        self.container = container
        self.segments = f"{container}_segments"
        self.large_object_size = large_object_size
        self.large_object_chunk_size = large_object_chunk_size
        self.chunk_size = max(64 << 10, chunk_size)
        self.read_chunk_size = max(64 << 10, read_chunk_size)
        # What no other store may use: each store's leftover check removes what is not its own.
        self.places = (f"object storage container {container}", f"object storage container {self.segments}")

    @classmethod
    def from_config(cls, store_id: str, description: str, options: dict[str, Any], *, conf: Any,
                    clients: Any, **_: Any) -> SwiftStore:
        where = f"[image] stores: store {store_id!r}"
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise ConfigError(f"{where}: unknown option(s) {', '.join(sorted(unknown))} for a swift store; "
                              f"known: {', '.join(OPTIONS)}")
        if clients is None:
            raise ConfigError(f"{where}: a swift store needs identity's catalog (run with identity)")
        container = str(options.get("container", "glance"))
        if not container or "/" in container or len(container) > 256 - len("_segments"):
            raise ConfigError(f"{where}: container {container!r} is not a Swift container name")
        sizes = {}
        for key, default in (("large_object_size", 5 << 30), ("large_object_chunk_size", 200 << 20)):
            try:
                sizes[key] = int(options.get(key, default))
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: {key} must be a number of bytes") from None
            if sizes[key] < 1:
                raise ConfigError(f"{where}: {key} must be at least 1 byte")
        return cls(store_id, clients, description, container=container, chunk_size=conf.write_chunk_size,
                   read_chunk_size=conf.read_chunk_size, **sizes)

    def properties(self) -> dict[str, Any]:
        """What ``GET /v2/info/stores/detail`` shows of this store (Glance's swift store properties)."""
        return {"container": self.container, "large_object_size": self.large_object_size,
                "large_object_chunk_size": self.large_object_chunk_size}

    # ------------------------------------------------------------------ locations

    def location_for(self, image_id: str) -> str:
        return f"{SCHEME}://{self.store_id}/{self.container}/{image_id}"

    def _object(self, location: str) -> str:
        """The object name a location of this store names."""
        prefix = f"{SCHEME}://{self.store_id}/{self.container}/"
        if not location.startswith(prefix) or len(location) == len(prefix):
            raise StoreError(f"store {self.store_id} cannot read location {location!r}")
        return location[len(prefix):]

    # ------------------------------------------------------------------ HTTP

    async def _send(self, method: str, container: str, obj: str = "", *,
                    headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
                    content: Any = None, replayable: bool = True) -> httpx.Response:
        """One request to the service account, its response still open (the caller closes it).

        A 401 gets a new service token and one more try, unless the body was a stream already spent.
        """
        try:
            base = await self.clients.endpoint("object-store")
        except ServiceUnavailable as exc:
            raise StoreError(f"store {self.store_id}: {exc.message}") from None
        path = "/" + quote(container, safe="") + ("/" + quote(obj, safe="/") if obj else "")
        h = dict(headers or {})
        rid = current_request_id()
        if rid:
            h["X-OpenStack-Request-ID"] = rid
        tokens = self.clients.tokens
        for attempt in (1, 2):
            try:
                h["X-Auth-Token"] = await tokens.service_token()
            except ServiceUnavailable as exc:
                raise StoreError(f"store {self.store_id}: {exc.message}") from None
            request = self.clients.http.build_request(method, base + path, headers=h, params=params,
                                                      content=content)
            try:
                resp = await self.clients.http.send(request, stream=True)
            except httpx.HTTPError as exc:
                cancelled_if_cancelling()
                raise StoreError(f"store {self.store_id}: object storage is unreachable: {exc}") from None
            if resp.status_code == 401 and attempt == 1 and replayable:
                await resp.aclose()
                tokens.forget_service_token()           # our token lapsed: a new one, once
                continue
            return resp
        raise AssertionError("unreachable")

    async def _call(self, method: str, container: str, obj: str = "", **kw: Any) -> httpx.Response:
        """A request whose (small) answer is read whole."""
        resp = await self._send(method, container, obj, **kw)
        try:
            await resp.aread()
        except httpx.HTTPError as exc:
            raise StoreError(f"store {self.store_id}: object storage went away: {exc}") from None
        finally:
            await resp.aclose()
        return resp

    def _failure(self, resp: httpx.Response, what: str) -> StoreError:
        """Object storage's refusal as a store error the image service can answer with."""
        status = resp.status_code
        try:
            detail = " ".join(_TAGS.sub(" ", resp.text).split())[:200]
        except (httpx.ResponseNotRead, UnicodeDecodeError):
            detail = ""
        said = f"object storage answered {status} {resp.reason_phrase}" + (f" ({detail})" if detail else "")
        LOG.warning("store %s: %s: %s", self.store_id, what, said)
        if status in (413, 507):
            return StoreFull(f"store {self.store_id} refused the data ({what}): {said}")
        if status in (401, 403):
            return StoreError(f"store {self.store_id}: object storage refused the image service's "
                              f"credentials ({what}): {said}")
        return StoreError(f"store {self.store_id} failed ({what}): {said}")

    # ------------------------------------------------------------------ writing

    async def write(self, image_id: str, stream: AsyncIterator[bytes],
                    size: int | None = None) -> WriteResult:
        """Store the stream as ``<container>/<image_id>``; ``size``, when the caller knows it, picks
        one object or segments before the first byte is sent."""
        source = _Source(stream, self.chunk_size)
        hashes = _Hashes()
        await self._ensure_containers()
        if size is None and await source.ends_within(2):
            size = source.buffered
        if size is not None and size <= self.large_object_size:
            return await self._write_one(image_id, source, hashes)
        return await self._write_segmented(image_id, source, hashes)

    async def _ensure_containers(self) -> None:
        # PUT of an existing container is a no-op (202); done on every write, as a container an
        # operator removed comes back at the next upload instead of failing it.
        for container in (self.container, self.segments):
            resp = await self._call("PUT", container)
            if resp.status_code not in (201, 202, 204):
                raise self._failure(resp, f"creating container {container}")

    async def _put_stream(self, container: str, obj: str, body: AsyncIterator[bytes],
                          what: str) -> httpx.Response:
        resp = await self._send("PUT", container, obj, content=body, replayable=False,
                                headers={"Content-Type": "application/octet-stream"})
        await resp.aread()
        await resp.aclose()
        if resp.status_code != 201:
            raise self._failure(resp, what)
        return resp

    async def _write_one(self, image_id: str, source: _Source, hashes: _Hashes) -> WriteResult:
        try:
            resp = await self._put_stream(self.container, image_id, hashes.tee(source.rest()),
                                          f"writing image {image_id}")
            md5, sha512 = hashes.digests()
            etag = resp.headers.get("etag", "").strip('"')
            if etag != md5:
                raise StoreError(f"store {self.store_id}: object storage stored image {image_id} with "
                                 f"ETag {etag!r}, but the data sent has MD5 {md5}")
        except BaseException as exc:
            await self._forget(self.container, [image_id])
            if isinstance(exc, httpx.HTTPError):
                raise StoreError(f"store {self.store_id}: writing image {image_id} failed: {exc}") from None
            raise
        return WriteResult(self.location_for(image_id), hashes.size, md5, sha512)

    async def _write_segmented(self, image_id: str, source: _Source, hashes: _Hashes) -> WriteResult:
        prefix = f"{image_id}/{uuid.uuid4().hex[:16]}/"
        written: list[str] = []
        etags: list[str] = []
        manifest = False
        try:
            while not written or not await source.exhausted():
                name = f"{prefix}{len(written) + 1:08d}"
                written.append(name)
                body = hashes.tee(source.take(self.large_object_chunk_size))
                resp = await self._put_stream(self.segments, name, body, f"writing segment {name}")
                etags.append(resp.headers.get("etag", "").strip('"'))
            md5, sha512 = hashes.digests()
            manifest = True
            resp = await self._call("PUT", self.container, image_id, content=b"", headers={
                "X-Object-Manifest": quote(f"{self.segments}/{prefix}"),
                "Content-Type": "application/octet-stream"})
            if resp.status_code != 201:
                raise self._failure(resp, f"writing the manifest of image {image_id}")
            await self._check_manifest(image_id, hashes.size, etags)
        except BaseException as exc:
            await self._forget(self.segments, written)
            if manifest:
                await self._forget(self.container, [image_id])
            if isinstance(exc, httpx.HTTPError):
                raise StoreError(f"store {self.store_id}: writing image {image_id} failed: {exc}") from None
            raise
        try:
            await self._remove_segments(image_id, keep=prefix)     # of earlier, interrupted writes
        except StoreError as exc:       # the image is stored: what is left goes at the next start
            LOG.warning("store %s: older segments of image %s not removed: %s", self.store_id, image_id, exc)
        LOG.info("store %s: image %s written as %d segments", self.store_id, image_id, len(written))
        return WriteResult(self.location_for(image_id), hashes.size, md5, sha512)

    async def _check_manifest(self, image_id: str, size: int, etags: list[str]) -> None:
        """The manifest joins exactly the segments we wrote: its length, and its ETag (the MD5 of
        the segments' ETags, as Swift gives a DLO's)."""
        resp = await self._call("HEAD", self.container, image_id)
        if resp.status_code != 200:
            raise self._failure(resp, f"reading back the manifest of image {image_id}")
        expected = hashlib.md5("".join(etags).encode(), usedforsecurity=False).hexdigest()
        length = resp.headers.get("content-length")
        etag = resp.headers.get("etag", "").strip('"')
        if length != str(size) or etag != expected:
            raise StoreError(f"store {self.store_id}: the manifest of image {image_id} joins {length} bytes "
                             f"(ETag {etag}), not the {size} bytes written (ETag {expected})")

    async def _forget(self, container: str, names: list[str]) -> None:
        """Remove what a failed write put; survives cancellation, and only logs its own failures."""
        async def go() -> None:
            for name in names:
                try:
                    resp = await self._call("DELETE", container, name)
                    if resp.status_code not in (204, 404):
                        LOG.warning("store %s: could not remove %s/%s (%s)", self.store_id, container, name,
                                    resp.status_code)
                except StoreError as exc:
                    LOG.warning("store %s: could not remove %s/%s: %s", self.store_id, container, name, exc)
        with contextlib.suppress(BaseException):
            await asyncio.shield(go())

    # ------------------------------------------------------------------ reading

    async def read(self, location: str, offset: int = 0,
                   length: int | None = None) -> AsyncIterator[bytes]:
        obj = self._object(location)
        if length is not None and length <= 0:
            return
        headers = {}
        ranged = bool(offset) or length is not None
        if ranged:
            headers["Range"] = f"bytes={offset}-{'' if length is None else offset + length - 1}"
        resp = await self._send("GET", self.container, obj, headers=headers)
        try:
            if resp.status_code == 404:
                raise DataNotFound(f"no data at {location}")
            if resp.status_code == 416:
                return                  # the range starts past the end: nothing to read
            if resp.status_code not in (200, 206) or (ranged and resp.status_code == 200 and offset):
                await resp.aread()
                raise self._failure(resp, f"reading {location}")
            left = length if resp.status_code == 200 else None   # a whole object for a range from 0
            try:
                async for chunk in resp.aiter_bytes(self.read_chunk_size):
                    if left is not None:
                        chunk, left = chunk[:left], left - min(left, len(chunk))
                    if chunk:
                        yield chunk
                    if left == 0:
                        return
            except httpx.HTTPError as exc:
                raise StoreError(f"store {self.store_id}: reading {location} failed: {exc}") from None
        finally:
            await resp.aclose()

    async def size(self, location: str) -> int:
        resp = await self._call("HEAD", self.container, self._object(location))
        if resp.status_code == 404:
            raise DataNotFound(f"no data at {location}")
        if resp.status_code != 200:
            raise self._failure(resp, f"reading the size of {location}")
        return int(resp.headers.get("content-length", "0"))

    # ------------------------------------------------------------------ housekeeping

    async def delete(self, location: str) -> None:
        """The object, and its segments when it is a manifest (the manifest first: segments left
        by a failure are no manifest's, and ``discard_partial`` removes them)."""
        obj = self._object(location)
        head = await self._call("HEAD", self.container, obj)
        if head.status_code == 404:
            return
        if head.status_code != 200:
            raise self._failure(head, f"deleting {location}")
        resp = await self._call("DELETE", self.container, obj)
        if resp.status_code not in (204, 404):
            raise self._failure(resp, f"deleting {location}")
        if head.headers.get("x-object-manifest"):
            await self._remove_segments(obj)

    async def _remove_segments(self, image_id: str, keep: str | None = None) -> int:
        """Every segment of ``image_id`` (but those under ``keep``) in the segments container."""
        names = [n for n in await self._list(self.segments, f"{image_id}/")
                 if keep is None or not n.startswith(keep)]
        for name in names:
            resp = await self._call("DELETE", self.segments, name)
            if resp.status_code not in (204, 404):
                raise self._failure(resp, f"deleting segment {name}")
        return len(names)

    async def _list(self, container: str, prefix: str = "") -> list[str]:
        names: list[str] = []
        marker = ""
        while True:
            params = {"format": "json", "limit": str(_LISTING_LIMIT), "prefix": prefix, "marker": marker}
            resp = await self._call("GET", container, params=params)
            if resp.status_code == 404:
                return names
            if resp.status_code not in (200, 204):
                raise self._failure(resp, f"listing container {container}")
            page = [item["name"] for item in (resp.json() if resp.status_code == 200 else [])]
            names.extend(page)
            if len(page) < _LISTING_LIMIT:
                return names
            marker = page[-1]

    async def locations(self) -> list[str]:
        return [self.location_for(name) for name in await self._list(self.container)]

    async def discard_partial(self) -> int:
        """Segments no manifest joins: what a write cut short (or a delete interrupted) left."""
        by_image: dict[str, set[str]] = {}
        for name in await self._list(self.segments):
            image_id, _, rest = name.partition("/")
            write_id = rest.partition("/")[0]
            by_image.setdefault(image_id, set()).add(f"{image_id}/{write_id}/")
        gone = 0
        for image_id in by_image:
            head = await self._call("HEAD", self.container, image_id)
            if head.status_code not in (200, 404):
                raise self._failure(head, f"reading the manifest of image {image_id}")
            manifest = head.headers.get("x-object-manifest", "") if head.status_code == 200 else ""
            container, _, prefix = unquote(manifest).partition("/")
            keep = prefix if container == self.segments else None
            gone += await self._remove_segments(image_id, keep=keep)
        return gone


class _Source:
    """The incoming stream in buffers of ``size`` bytes (the last one shorter), taken in segments."""

    def __init__(self, stream: AsyncIterator[bytes], size: int) -> None:
        self.stream = stream.__aiter__()
        self.size = size
        self.ahead: list[bytes] = []       # buffers read but not handed out yet
        self.done = False

    @property
    def buffered(self) -> int:
        return sum(len(b) for b in self.ahead)

    async def _fill(self) -> bytes | None:
        """The next buffer from the stream, None at its end."""
        if self.done:
            return None
        parts: list[bytes] = []
        have = 0
        async for chunk in self.stream:
            parts.append(bytes(chunk))
            have += len(chunk)
            if have >= self.size:
                break
        else:
            self.done = True
        return b"".join(parts) if parts else None

    async def ends_within(self, buffers: int) -> bool:
        """Read ahead at most ``buffers`` buffers: does the stream end there?"""
        while len(self.ahead) < buffers and not self.done:
            buf = await self._fill()
            if buf is not None:
                self.ahead.append(buf)
        return self.done

    async def exhausted(self) -> bool:
        if not self.ahead:
            buf = await self._fill()
            if buf is None:
                return True
            self.ahead.append(buf)
        return False

    async def _next(self) -> bytes | None:
        if self.ahead:
            return self.ahead.pop(0)
        return await self._fill()

    async def rest(self) -> AsyncIterator[bytes]:
        while (buf := await self._next()) is not None:
            yield buf

    async def take(self, limit: int) -> AsyncIterator[bytes]:
        """At most ``limit`` bytes; what a buffer holds past them stays for the next take."""
        while limit > 0 and (buf := await self._next()) is not None:
            if len(buf) > limit:
                self.ahead.insert(0, buf[limit:])
                buf = buf[:limit]
            limit -= len(buf)
            yield buf


class _Hashes:
    """MD5 and SHA-512 of everything ``tee`` passes on, each computed in a thread while the previous
    buffer is sent (hashlib releases the GIL on large buffers)."""

    def __init__(self) -> None:
        self.md5 = hashlib.md5(usedforsecurity=False)
        self.sha512 = hashlib.sha512()
        self.size = 0

    async def tee(self, buffers: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        pending: asyncio.Future[Any] | None = None
        try:
            async for buf in buffers:
                if pending is not None:
                    await pending
                pending = asyncio.ensure_future(asyncio.gather(run_blocking(self.md5.update, buf),
                                                               run_blocking(self.sha512.update, buf)))
                self.size += len(buf)
                yield buf
            if pending is not None:
                await pending
                pending = None
        finally:
            if pending is not None:
                with contextlib.suppress(BaseException):
                    await asyncio.shield(pending)

    def digests(self) -> tuple[str, str]:
        return self.md5.hexdigest(), self.sha512.hexdigest()
