"""What the container and account servers share: finding a database, the record's own
PUT/HEAD/POST answers and metadata, the listing of its rows, and the REPLICATE verb the
replicators speak (``REPLICATE /<device>/<partition>/<hash>``, docs/object-storage-servers.md)."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
from abc import ABC, abstractmethod
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from nubes.object.hashing import HashSecret, hash_path
from nubes.object.server import listing
from nubes.object.server.backend import (Devices, HTTPError, request_timestamp, split_path,
                                         title_case)
from nubes.object.server.db import Broker
from nubes.object.timestamps import InvalidTimestamp, Timestamp

SQLITE_TYPE = "application/vnd.sqlite3"     # a REPLICATE body that is a whole database


class DatabaseServer(ABC):
    broker_class: type[Broker]
    kind = ""                      # "container" or "account"
    depth = 0                      # path segments naming the record itself (4 or 3)
    meta_headers: tuple[str, ...] = ()

    def __init__(self, devices: Devices, secret: HashSecret, node_timeout: float = 3.0,
                 listing_limit: int = listing.MAX_LIMIT):
        self.devices = devices
        self.secret = secret
        self.node_timeout = node_timeout
        self.listing_limit = listing_limit

    def _locate(self, request: Request, entry: bool | None = None
                ) -> tuple[list[str], Path, bytes, Broker]:
        """The path's parts, the device, the record's hash and its broker. ``entry``: whether
        the path must (True), must not (False) or may (None) name a row inside the record."""
        parts = split_path(request, self.depth, self.depth + 1)
        if entry is False and len(parts) > self.depth:
            raise HTTPError(400, "Invalid path: too many segments")
        if entry is True and len(parts) == self.depth:
            raise HTTPError(400, "Invalid path: no entry named")
        device_path = self.devices.path(parts[0])
        names = parts[2:self.depth]
        digest = hash_path(self.secret, *names)
        return parts, device_path, digest, self.broker_class.at(device_path, parts[1], digest)

    def names_entry(self, request: Request) -> bool:
        """Whether the path names a row (an object in a container, a container in an account)."""
        return len(split_path(request, self.depth, self.depth + 1)) > self.depth

    def metadata_from(self, request: Request, timestamp: Timestamp) -> dict[str, tuple[str, Timestamp]]:
        prefixes = (f"x-{self.kind}-meta-", f"x-{self.kind}-sysmeta-")
        return {title_case(k): (v, timestamp) for k, v in request.headers.items()
                if k.startswith(prefixes) or k in self.meta_headers}

    async def live_broker(self, broker: Broker) -> Broker:
        """404 unless the record exists and is not deleted (with its timestamps when it is)."""
        if not await asyncio.to_thread(broker.exists):
            raise HTTPError(404, "Not Found")
        if await asyncio.to_thread(broker.is_deleted):
            raise HTTPError(404, "Not Found", await self.backend_headers(broker))
        return broker

    async def backend_headers(self, broker: Broker) -> dict[str, str]:
        info = await asyncio.to_thread(broker.info)
        return {"X-Backend-Timestamp": info.created_at.internal,
                "X-Backend-Put-Timestamp": info.put_timestamp.internal,
                "X-Backend-Delete-Timestamp": info.delete_timestamp.internal,
                "X-Backend-Status-Changed-At": info.status_changed_at.internal,
                "X-Timestamp": info.created_at.normal,
                "X-Put-Timestamp": info.put_timestamp.normal}

    async def put_record(self, request: Request) -> tuple[int, list[str], Path, bytes, Broker]:
        """Create the record or renew its PUT: 201 when it is new (or was deleted), 202 when it
        was there; its metadata from the headers either way."""
        parts, device_path, digest, broker = self._locate(request, entry=False)
        timestamp = request_timestamp(request)
        self.devices.check_space(device_path)
        account, container = parts[2], (parts[3] if self.depth == 4 else None)
        created = await asyncio.to_thread(broker.initialize, account, container, timestamp)
        status = 201
        if not created:
            was_deleted = await asyncio.to_thread(broker.is_deleted)
            await asyncio.to_thread(broker.mark_put, timestamp)
            if await asyncio.to_thread(broker.is_deleted):
                raise HTTPError(409, "Conflict: a newer DELETE is recorded",
                                await self.backend_headers(broker))
            status = 201 if was_deleted else 202
        await asyncio.to_thread(broker.update_metadata, self.metadata_from(request, timestamp))
        return status, parts, device_path, digest, broker

    async def post(self, request: Request) -> Response:
        _, _, _, broker = self._locate(request, entry=False)
        timestamp = request_timestamp(request)
        await self.live_broker(broker)
        await asyncio.to_thread(broker.update_metadata, self.metadata_from(request, timestamp))
        return Response(b"", status_code=204)

    async def record_headers(self, broker: Broker) -> dict[str, str]:
        headers = await self.backend_headers(broker)
        headers.update(await asyncio.to_thread(broker.metadata))
        headers.update(await self.stats_headers(broker))
        return headers

    @abstractmethod
    async def stats_headers(self, broker: Broker) -> dict[str, str]:
        """The record's count and bytes headers (``X-Container-Object-Count`` ...)."""

    @abstractmethod
    def entry_view(self, row: tuple) -> dict:
        """One listing row as its JSON entry."""

    async def get(self, request: Request) -> Response:
        parts, _, _, broker = self._locate(request, entry=False)
        query = listing.parse_query(request, self.listing_limit)
        await self.live_broker(broker)
        headers = await self.record_headers(broker)
        if request.method == "HEAD":
            return Response(b"", status_code=204, headers=headers)
        rows = await asyncio.to_thread(
            broker.listing, self.list_columns, query.limit, query.marker, query.end_marker,
            query.prefix, query.delimiter, query.reverse)
        entries = [self.entry_view(r) if isinstance(r, tuple) else r for r in rows]
        if query.path is not None:
            entries = [e for e in entries if not isinstance(e, str)]
        return listing.render(self.kind, parts[self.depth - 1], entries, query.format, headers)

    list_columns = ""

    # -- REPLICATE

    async def replicate(self, request: Request) -> Response:
        """A replicator's request about one database, named by its hash: a JSON ``sync``
        (compare, and merge the sender's record timestamps and metadata) or ``merge_items``
        (the sender's rows after our sync point for it), or the whole database as a body of
        type application/vnd.sqlite3 when we had none."""
        device, partition, name = split_path(request, 3, 3)
        try:
            digest = bytes.fromhex(name)
        except ValueError:
            digest = b""
        if len(digest) != 16:
            raise HTTPError(400, f"Invalid hash: {name}")
        device_path = self.devices.path(device)
        broker = self.broker_class.at(device_path, partition, digest)
        if request.headers.get("content-type", "").split(";")[0].strip() == SQLITE_TYPE:
            return await self._receive_db(request, device_path, digest, broker)
        try:
            body = json.loads(await request.body())
            op = body["op"]
        except (ValueError, KeyError, TypeError):
            raise HTTPError(400, "Invalid REPLICATE body") from None
        if op not in ("sync", "merge_items"):
            raise HTTPError(400, f"Unknown REPLICATE op: {op}")
        if not await asyncio.to_thread(broker.exists):
            raise HTTPError(404, "Not Found")
        try:
            if op == "sync":
                answer = await self._sync(broker, body)
            else:
                await asyncio.to_thread(broker.merge_items, body["items"])
                await asyncio.to_thread(broker.set_sync_point, str(body["id"]), int(body["point"]))
                answer = {"merged": len(body["items"])}
        except (KeyError, TypeError, ValueError, AttributeError, InvalidTimestamp,
                sqlite3.InterfaceError, sqlite3.ProgrammingError) as exc:
            raise HTTPError(400, f"Invalid REPLICATE {op}: {exc}") from None
        return Response(json.dumps(answer).encode(), media_type="application/json")

    async def _sync(self, broker: Broker, body: dict) -> dict:
        metadata = {str(k): (str(v), Timestamp.parse(t)) for k, (v, t) in body["metadata"].items()}
        await asyncio.to_thread(broker.merge_record, Timestamp.parse(body["created_at"]),
                                Timestamp.parse(body["put_timestamp"]),
                                Timestamp.parse(body["delete_timestamp"]), metadata)
        info = await asyncio.to_thread(broker.replication_info)
        point = await asyncio.to_thread(broker.sync_point, str(body["id"]))
        return {"id": info["id"], "max_row": info["max_row"], "hash": info["hash"],
                "point": point}

    async def _receive_db(self, request: Request, device_path: Path, digest: bytes,
                          broker: Broker) -> Response:
        """Write the body to the device's tmp, check it is a database of this kind for the record
        the hash names, and adopt it: 201; 409 when one is here already (sync it instead)."""
        if await asyncio.to_thread(broker.exists):
            raise HTTPError(409, "Conflict: the database is here; sync it")
        length = request.headers.get("content-length", "0")
        if not length.isdigit():
            raise HTTPError(400, "Invalid Content-Length")
        self.devices.check_space(device_path, int(length))
        tmp_dir = device_path / "tmp"
        await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=tmp_dir, suffix=".db")
        try:
            with os.fdopen(fd, "wb") as f:
                async for chunk in request.stream():
                    await asyncio.to_thread(f.write, chunk)
                await asyncio.to_thread(os.fsync, f.fileno())
            await asyncio.to_thread(self._check_copy, Path(tmp), digest)
            adopted = await asyncio.to_thread(broker.adopt, Path(tmp))
        finally:
            Path(tmp).unlink(missing_ok=True)
        if not adopted:
            raise HTTPError(409, "Conflict: the database is here; sync it")
        return Response(b"", status_code=201)

    def _check_copy(self, path: Path, digest: bytes) -> None:
        try:
            conn = sqlite3.connect(path)
            try:
                ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                account, container = conn.execute("SELECT account, container FROM info").fetchone()
                conn.execute(f"SELECT {self.broker_class.row_columns} FROM "
                             f"{self.broker_class.rows} LIMIT 1").fetchall()
            finally:
                conn.close()
        except (sqlite3.Error, TypeError):
            raise HTTPError(400, f"Not a {self.kind} database") from None
        names = (account, container) if self.kind == "container" else (account,)
        if not ok or hash_path(self.secret, *names) != digest:
            raise HTTPError(400, f"Not the {self.kind} database of this hash")
