"""The container server: one device's container databases over Swift's backend protocol.

``PUT/HEAD/GET/POST/DELETE /<device>/<partition>/<account>/<container>`` for the container itself
(GET lists its objects), and ``PUT/DELETE /<device>/<partition>/<account>/<container>/<object>``
for the object rows the object server's updates bring (``X-Size``, ``X-Content-Type``,
``X-Etag``, ``X-Timestamp``). A container PUT or DELETE is reported to the account server named
by ``X-Account-Host/-Device/-Partition`` (an async pending file when it cannot be reached).
``REPLICATE /<device>/<partition>/<hash>`` serves the container replicator (db_server.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from nubes.object.conf import ObjectStorageConfig
from nubes.object.server import backend
from nubes.object.server.backend import Devices, HTTPError, UpdateTarget, request_timestamp
from nubes.object.server.db import ContainerBroker
from nubes.object.server.db_server import DatabaseServer


class ContainerServer(DatabaseServer):
    broker_class = ContainerBroker
    kind = "container"
    depth = 4
    # Stored as metadata, each with its timestamp, so the newest setting of each wins.
    meta_headers = ("x-container-read", "x-container-write", "x-container-sync-to",
                    "x-container-sync-key", "x-versions-location", "x-history-location")
    # Last-Modified made by SQLite (listing.last_modified's string, ~3 us a row less in Python):
    # a timestamp's first 16 characters are its normal form, ten digits, a dot, five decimals.
    list_columns = ("name, strftime('%Y-%m-%dT%H:%M:%S', CAST(substr(created_at, 1, 10) AS INTEGER), "
                    "'unixepoch') || '.' || substr(created_at, 12, 5) || '0', size, content_type, etag")

    @classmethod
    def from_config(cls, conf: ObjectStorageConfig, state_dir: Path) -> ContainerServer:
        devices = Devices(conf.devices_root(state_dir), conf.mount_check, conf.fallocate_reserve)
        return cls(devices, conf.hash_secret(), conf.node_timeout, conf.listing_limit)

    def app(self):
        return backend.storage_app({"PUT": self.put, "GET": self.get, "HEAD": self.get,
                                    "POST": self.post, "DELETE": self.delete,
                                    "REPLICATE": self.replicate})

    async def stats_headers(self, broker: ContainerBroker) -> dict[str, str]:
        count, used = await asyncio.to_thread(broker.stats)
        return {"X-Container-Object-Count": str(count), "X-Container-Bytes-Used": str(used)}

    def entry_view(self, row: tuple) -> dict:
        name, modified, size, content_type, etag = row
        # a static large object's manifest carries its content's size (Swift's swift_bytes)
        base, sep, swift_bytes = content_type.partition(";swift_bytes=")
        if sep and swift_bytes.isdigit():
            content_type, size = base, int(swift_bytes)
        return {"name": name, "hash": etag, "bytes": size, "content_type": content_type,
                "last_modified": modified}

    async def put(self, request: Request) -> Response:
        if self.names_entry(request):
            return await self.put_object_row(request, deleted=False)
        targets = backend.update_targets(request, "account")
        status, parts, device_path, digest, broker = await self.put_record(request)
        await self._account_update(request, targets, parts, device_path, digest, broker)
        return Response(b"", status_code=status)

    async def put_object_row(self, request: Request, deleted: bool) -> Response:
        parts, _, _, broker = self._locate(request, entry=True)
        timestamp = request_timestamp(request)
        size = request.headers.get("x-size", "0")

        def record() -> bool:
            """live_broker's checks and the row, in one thread hop; False: the container is
            deleted."""
            if not broker.exists():
                raise HTTPError(404, "Not Found")
            if broker.is_deleted():
                return False
            if not size.isdigit():
                raise HTTPError(400, "Invalid X-Size")
            broker.put_object(parts[4], timestamp, int(size),
                              request.headers.get("x-content-type", ""),
                              request.headers.get("x-etag", ""), deleted)
            return True

        if not await asyncio.to_thread(record):
            raise HTTPError(404, "Not Found", await self.backend_headers(broker))
        return Response(b"", status_code=204 if deleted else 201)

    async def delete(self, request: Request) -> Response:
        if self.names_entry(request):
            return await self.put_object_row(request, deleted=True)
        parts, device_path, digest, broker = self._locate(request, entry=False)
        timestamp = request_timestamp(request)
        targets = backend.update_targets(request, "account")
        await self.live_broker(broker)
        if await asyncio.to_thread(broker.entry_count):
            raise HTTPError(409, "Conflict: the container is not empty")
        await asyncio.to_thread(broker.mark_deleted, timestamp)
        if not await asyncio.to_thread(broker.is_deleted):
            raise HTTPError(409, "Conflict: a newer PUT is recorded",
                            await self.backend_headers(broker))
        await self._account_update(request, targets, parts, device_path, digest, broker)
        return Response(b"", status_code=204)

    async def _account_update(self, request: Request, targets: list[UpdateTarget],
                              parts: list[str], device_path: Path, digest: bytes,
                              broker: ContainerBroker) -> None:
        if not targets:
            return
        timestamp = request_timestamp(request)
        info = await asyncio.to_thread(broker.info)
        count, used = await asyncio.to_thread(broker.stats)
        headers = {"X-Put-Timestamp": info.put_timestamp.internal,
                   "X-Delete-Timestamp": info.delete_timestamp.internal,
                   "X-Object-Count": str(count), "X-Bytes-Used": str(used),
                   "X-Timestamp": timestamp.internal}
        if request.headers.get("x-account-override-deleted", "").lower() == "yes":
            headers["X-Account-Override-Deleted"] = "yes"       # the account reaper's DELETE
        await backend.update_or_save(device_path, targets, "PUT", parts[2], parts[3], None,
                                     headers, timestamp, digest, self.node_timeout)
