"""The object server: one device's object files over Swift's backend protocol.

``PUT/GET/HEAD/POST/DELETE /<device>/<partition>/<account>/<container>/<object>`` with
``X-Timestamp``; ``REPLICATE /<device>/<partition>[/<suffix>-<suffix>...]`` and ``SSYNC
/<device>/<partition>`` for the replicator, whose pushes are writes with ``X-Backend-Replication``.
Newest timestamp wins; a PUT or DELETE answers only once its file is durable, then the container
server named by ``X-Container-Host/-Device/-Partition`` is told (or an async pending is left).
A PUT or POST with ``X-Delete-At`` leaves an entry for the expirer on the device, whose DELETE
carries ``X-If-Delete-At`` (412 when the object's X-Delete-At has changed since)."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from nubes.object.conf import ObjectStorageConfig
from nubes.object.hashing import HashSecret, hash_path
from nubes.object.server import backend, ssync
from nubes.object.server.backend import (Devices, HTTPError, UpdateTarget, request_timestamp,
                                         split_path, title_case)
from nubes.object.server.diskfile import (DiskFile, ObjectState, Writer, read_range,
                                          suffix_hashes)
from nubes.object.server.http_conditions import check_conditions, http_date, parse_range
from nubes.object.timestamps import Timestamp

# Headers a PUT stores besides the user metadata and sysmeta (a POST may replace the last three).
STORED_HEADERS = ("content-type", "content-encoding", "content-disposition", "x-delete-at",
                  "x-static-large-object", "x-object-manifest")
META_PREFIXES = ("x-object-meta-", "x-object-sysmeta-")
WRITE_BUFFER = 1024 * 1024
# A content type for the container's row other than the object's (a symlink's names its target).
UPDATE_CONTENT_TYPE = "X-Object-Sysmeta-Container-Update-Override-Content-Type"


def _user_headers(request: Request, allowed: tuple[str, ...], prefixes: tuple[str, ...]
                  ) -> dict[str, str]:
    return {title_case(k): v for k, v in request.headers.items()
            if k in allowed or k.startswith(prefixes)}


def _replication(request: Request) -> bool:
    """A replicator's push: the original timestamp and metadata of a file another device holds."""
    return request.headers.get("x-backend-replication", "").lower() == "true"


def _delete_at(request: Request, now: float) -> None:
    """Refuse an X-Delete-At already past at ``now``: the request's own timestamp when the proxy
    stamped it earlier (a delete-at that was ahead when the write began is taken, however long
    the request took to get here; it is then expired at once), else this server's clock."""
    value = request.headers.get("x-delete-at")
    if value is None or _replication(request):      # a copy keeps its time, even one now past
        return
    if not value.isdigit():
        raise HTTPError(400, "Non-integer X-Delete-At")
    if int(value) <= now:
        raise HTTPError(400, "X-Delete-At in past")


def _expired(state: ObjectState, now: float) -> bool:
    value = state.metadata.get("X-Delete-At")
    return value is not None and str(value).isdigit() and int(value) <= now


class ObjectServer:
    def __init__(self, devices: Devices, secret: HashSecret, node_timeout: float = 3.0,
                 clock: Callable[[], float] = time.time):
        self.devices = devices
        self.secret = secret
        self.node_timeout = node_timeout
        self.clock = clock                  # X-Delete-At is compared with this

    @classmethod
    def from_config(cls, conf: ObjectStorageConfig, state_dir: Path) -> ObjectServer:
        devices = Devices(conf.devices_root(state_dir), conf.mount_check, conf.fallocate_reserve)
        return cls(devices, conf.hash_secret(), conf.node_timeout)

    def app(self):
        return backend.storage_app({"PUT": self.put, "GET": self.get, "HEAD": self.get,
                                    "POST": self.post, "DELETE": self.delete,
                                    "REPLICATE": self.replicate, "SSYNC": self.ssync})

    def _locate(self, request: Request) -> tuple[list[str], Path, bytes, DiskFile]:
        parts = split_path(request, 5, 5)
        device, partition, account, container, obj = parts
        device_path = self.devices.path(device)
        digest = hash_path(self.secret, account, container, obj)
        return parts, device_path, digest, DiskFile(device_path, partition, digest)

    async def put(self, request: Request) -> Response:
        parts, device_path, digest, diskfile = self._locate(request)
        timestamp = request_timestamp(request)
        targets = backend.update_targets(request, "container")
        now = self.clock()
        _delete_at(request, min(now, timestamp.seconds))
        length_header = request.headers.get("content-length")
        chunked = "chunked" in request.headers.get("transfer-encoding", "").lower()
        if length_header is None and not chunked:
            raise HTTPError(411, "Length Required")
        if length_header is not None and not length_header.isdigit():
            raise HTTPError(400, "Invalid Content-Length")
        expected = int(length_header) if length_header is not None else None
        self.devices.check_space(device_path, expected or 0)
        state = await asyncio.to_thread(diskfile.state)
        if state.timestamp is not None and state.timestamp >= timestamp:
            raise HTTPError(409, "Conflict", {"X-Backend-Timestamp": state.timestamp.internal})
        if request.headers.get("if-none-match") == "*" and state.kind == "data" \
                and not _expired(state, now):
            raise HTTPError(412, "Precondition Failed")
        writer: Writer | None = None
        sent = request.headers.get("etag")
        metadata: dict[str, Any] = {
            "name": "/" + "/".join(parts[2:]), "X-Timestamp": timestamp.internal,
            "Content-Type": "application/octet-stream",
        }
        metadata.update(_user_headers(request, STORED_HEADERS, META_PREFIXES))

        def write(data: bytes) -> None:
            nonlocal writer
            if writer is None:
                writer = diskfile.writer()
            writer.write(data)

        def finish(rest: bytes) -> None:
            """The last bytes and the checks of the whole body: with the commit, all of a small
            object's writing in two thread hops."""
            write(rest)
            assert writer is not None
            if expected is not None and writer.size != expected:
                raise HTTPError(499, "Client Disconnect: the body is shorter than Content-Length")
            etag = writer.md5.hexdigest()
            if sent is not None and sent.strip('"').lower() != etag:
                raise HTTPError(422, "Unprocessable Entity: the body's MD5 is not the ETag sent")
            metadata.update({"Content-Length": str(writer.size), "ETag": etag})

        def commit() -> None:
            assert writer is not None
            writer.commit(timestamp, ".data", metadata)
            diskfile.cleanup()

        try:
            buffer = bytearray()
            async for chunk in request.stream():
                buffer += chunk
                if len(buffer) >= WRITE_BUFFER:
                    await asyncio.to_thread(write, bytes(buffer))
                    buffer.clear()
                    if expected is None:        # chunked: check the reserve as it grows
                        self.devices.check_space(device_path)
            await asyncio.to_thread(finish, bytes(buffer))
            await self._queue_expiry(request, parts, device_path, digest)
            await asyncio.to_thread(commit)
        except BaseException:
            if writer is not None:
                writer.abort()      # a close and an unlink: done at once, even when cancelled
            raise
        assert writer is not None
        etag = metadata["ETag"]
        await self._container_update(request, targets, parts, device_path, digest, "PUT",
                                     timestamp, {"X-Size": str(writer.size), "X-Etag": etag,
                                                 "X-Content-Type": metadata.get(UPDATE_CONTENT_TYPE)
                                                 or metadata["Content-Type"]})
        return Response(b"", status_code=201, headers={"ETag": etag})

    async def _queue_expiry(self, request: Request, parts: list[str], device_path: Path,
                            digest: bytes) -> None:
        """Before the object is committed, so that no object with an X-Delete-At lacks its entry
        (an entry whose object never came is dropped by the expirer: its DELETE answers 404)."""
        value = request.headers.get("x-delete-at")
        if value is not None:
            await asyncio.to_thread(backend.save_expiring, device_path, int(value), parts[2],
                                    parts[3], parts[4], digest)

    async def _container_update(self, request: Request, targets: list[UpdateTarget],
                                parts: list[str], device_path: Path, digest: bytes, method: str,
                                timestamp: Timestamp, extra: dict[str, str]) -> None:
        if not targets:
            return
        headers = {"X-Timestamp": timestamp.internal, **extra}
        if "x-trans-id" in request.headers:
            headers["X-Trans-Id"] = request.headers["x-trans-id"]
        await backend.update_or_save(device_path, targets, method, parts[2], parts[3], parts[4],
                                     headers, timestamp, digest, self.node_timeout)

    def _headers(self, state: ObjectState) -> dict[str, str]:
        assert state.timestamp is not None
        shown = {k: str(v) for k, v in state.metadata.items() if k != "name"}
        shown["X-Timestamp"] = state.timestamp.normal
        shown["X-Backend-Timestamp"] = state.timestamp.internal
        shown["X-Backend-Data-Timestamp"] = state.timestamp.internal
        if state.meta_timestamp is not None:
            shown["X-Backend-Meta-Timestamp"] = state.meta_timestamp.internal
        shown["Last-Modified"] = http_date(state.meta_timestamp or state.timestamp)
        shown["Accept-Ranges"] = "bytes"
        return shown

    async def _live_state(self, diskfile: DiskFile) -> ObjectState:
        """The object's version; 404 (with X-Backend-Timestamp when something was there) when it
        is missing, deleted or past its X-Delete-At."""
        state = await asyncio.to_thread(diskfile.state)
        if state.kind != "data" or _expired(state, self.clock()):
            headers = {"X-Backend-Timestamp": state.timestamp.internal} if state.timestamp else {}
            raise HTTPError(404, "Not Found", headers)
        return state

    async def get(self, request: Request) -> Response:
        _, _, _, diskfile = self._locate(request)
        state = await self._live_state(diskfile)
        headers = self._headers(state)
        check_conditions(request.headers, state.metadata["ETag"],
                         state.meta_timestamp or state.timestamp, headers)
        length = state.content_length
        if request.method == "HEAD":
            return Response(b"", headers=headers)
        ranges = parse_range(request.headers.get("range"), length)
        path = state.data_path
        assert path is not None
        if ranges is None:
            headers["Content-Length"] = str(length)
            return StreamingResponse(read_range(path, 0, length), headers=headers)
        if len(ranges) == 1:
            start, end = ranges[0]
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{length}"
            headers["Content-Length"] = str(end - start)
            return StreamingResponse(read_range(path, start, end), status_code=206,
                                     headers=headers)
        return self._multipart(path, ranges, length, headers)

    def _multipart(self, path: Path, ranges: list[tuple[int, int]], length: int,
                   headers: dict[str, str]) -> Response:
        boundary = secrets.token_hex(16)
        content_type = headers.pop("Content-Type", "application/octet-stream")
        heads = [(f"--{boundary}\r\nContent-Type: {content_type}\r\n"
                  f"Content-Range: bytes {s}-{e - 1}/{length}\r\n\r\n").encode()
                 for s, e in ranges]
        tail = f"--{boundary}--\r\n".encode()
        total = sum(len(h) + (e - s) + 2 for h, (s, e) in zip(heads, ranges, strict=True))
        headers["Content-Length"] = str(total + len(tail))

        def body() -> Iterator[bytes]:
            for head, (start, end) in zip(heads, ranges, strict=True):
                yield head
                yield from read_range(path, start, end)
                yield b"\r\n"
            yield tail

        headers["Content-Type"] = f"multipart/byteranges;boundary={boundary}"
        return StreamingResponse(body(), status_code=206, headers=headers)

    async def post(self, request: Request) -> Response:
        parts, device_path, digest, diskfile = self._locate(request)
        timestamp = request_timestamp(request)
        _delete_at(request, min(self.clock(), timestamp.seconds))
        if _replication(request):           # a copy of a .meta: also over a now expired object
            state = await asyncio.to_thread(diskfile.state)
            if state.kind != "data":
                raise HTTPError(404, "Not Found")
        else:
            state = await self._live_state(diskfile)
        newest = max(t for t in (state.timestamp, state.meta_timestamp) if t is not None)
        if newest >= timestamp:
            raise HTTPError(409, "Conflict", {"X-Backend-Timestamp": newest.internal})
        metadata = {"X-Timestamp": timestamp.internal}
        metadata.update(_user_headers(request, ("content-type",) + STORED_HEADERS[1:4],
                                      ("x-object-meta-",)))
        await self._queue_expiry(request, parts, device_path, digest)
        await asyncio.to_thread(diskfile.put_marker, timestamp, ".meta", metadata)
        await asyncio.to_thread(diskfile.cleanup)
        return Response(b"", status_code=202)

    async def delete(self, request: Request) -> Response:
        parts, device_path, digest, diskfile = self._locate(request)
        timestamp = request_timestamp(request)
        targets = backend.update_targets(request, "container")
        state = await asyncio.to_thread(diskfile.state)
        if state.timestamp is not None and state.timestamp >= timestamp:
            raise HTTPError(409, "Conflict", {"X-Backend-Timestamp": state.timestamp.internal})
        if_delete_at = request.headers.get("x-if-delete-at")
        if if_delete_at is not None:
            # The expirer's DELETE: only of the version it was queued for.
            if not if_delete_at.isdigit():
                raise HTTPError(400, "Bad X-If-Delete-At header value")
            if state.kind != "data":
                raise HTTPError(404, "Not Found", {"X-Backend-Timestamp": state.timestamp.internal}
                                if state.timestamp else {})
            if str(state.metadata.get("X-Delete-At")) != if_delete_at:
                raise HTTPError(412, "Precondition Failed: X-If-Delete-At does not match")
        existed = state.kind == "data" and not _expired(state, self.clock())
        await asyncio.to_thread(diskfile.put_marker, timestamp, ".ts", {
            "name": "/" + "/".join(parts[2:]), "X-Timestamp": timestamp.internal})
        await asyncio.to_thread(diskfile.cleanup)
        await self._container_update(request, targets, parts, device_path, digest, "DELETE",
                                     timestamp, {})
        headers = {"X-Backend-Timestamp": timestamp.internal}
        return Response(b"", status_code=204 if existed else 404, headers=headers)

    async def replicate(self, request: Request) -> Response:
        parts = split_path(request, 2, 3)
        device_path = self.devices.path(parts[0])
        partition_dir = device_path / "objects" / parts[1]
        # Every suffix is hashed afresh from the listing (nothing cached), so the named suffixes
        # need no recalculation; they are accepted for the replicator's protocol.
        hashes = await asyncio.to_thread(suffix_hashes, partition_dir)
        return Response(json.dumps(hashes, sort_keys=True).encode(),
                        media_type="application/json")

    async def ssync(self, request: Request) -> Response:
        """The replicator's missing check: which of the offered versions this partition lacks."""
        parts = split_path(request, 2, 2)
        partition_dir = self.devices.path(parts[0]) / "objects" / parts[1]
        try:
            offers = json.loads(await request.body())
        except ValueError:
            raise HTTPError(400, "The offer is not JSON") from None
        wanted = await asyncio.to_thread(ssync.missing_check, partition_dir, offers)
        return Response(json.dumps(wanted, sort_keys=True).encode(),
                        media_type="application/json")
