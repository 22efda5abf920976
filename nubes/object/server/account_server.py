"""The account server: one device's account databases over Swift's backend protocol.

``PUT/HEAD/GET/POST/DELETE /<device>/<partition>/<account>`` for the account itself (GET lists
its containers), and ``PUT /<device>/<partition>/<account>/<container>`` for a container's report
(``X-Put-Timestamp``, ``X-Delete-Timestamp``, ``X-Object-Count``, ``X-Bytes-Used``) sent by the
container server and the container updater (into a deleted account too, with
``X-Account-Override-Deleted: yes``: the account reaper's container deletes);
``REPLICATE /<device>/<partition>/<hash>`` for the account replicator."""

from __future__ import annotations

import asyncio
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response

from nubes.object.conf import ObjectStorageConfig
from nubes.object.server import backend
from nubes.object.server.backend import Devices, HTTPError, request_timestamp
from nubes.object.server.db import AccountBroker
from nubes.object.server.db_server import DatabaseServer
from nubes.object.server.listing import last_modified
from nubes.object.timestamps import InvalidTimestamp, Timestamp


class AccountServer(DatabaseServer):
    broker_class = AccountBroker
    kind = "account"
    depth = 3
    list_columns = "name, object_count, bytes_used, put_timestamp"

    @classmethod
    def from_config(cls, conf: ObjectStorageConfig, state_dir: Path) -> AccountServer:
        devices = Devices(conf.devices_root(state_dir), conf.mount_check, conf.fallocate_reserve)
        return cls(devices, conf.hash_secret(), conf.node_timeout, conf.listing_limit)

    def app(self):
        return backend.storage_app({"PUT": self.put, "GET": self.get, "HEAD": self.get,
                                    "POST": self.post, "DELETE": self.delete,
                                    "REPLICATE": self.replicate})

    async def stats_headers(self, broker: AccountBroker) -> dict[str, str]:
        containers, objects, used = await asyncio.to_thread(broker.stats)
        return {"X-Account-Container-Count": str(containers),
                "X-Account-Object-Count": str(objects), "X-Account-Bytes-Used": str(used)}

    def entry_view(self, row: tuple) -> dict:
        name, count, used, put_timestamp = row
        return {"name": name, "count": count, "bytes": used,
                "last_modified": last_modified(put_timestamp)}

    async def put(self, request: Request) -> Response:
        if self.names_entry(request):
            return await self.put_container_row(request)
        status, *_ = await self.put_record(request)
        return Response(b"", status_code=status)

    async def put_container_row(self, request: Request) -> Response:
        parts, _, _, broker = self._locate(request, entry=True)
        if request.headers.get("x-account-override-deleted", "").lower() == "yes":
            # The reaper's container DELETE: recorded in the deleted account (Swift's header).
            if not await asyncio.to_thread(broker.exists):
                raise HTTPError(404, "Not Found")
        else:
            await self.live_broker(broker)
        try:
            put = _stamp(request.headers.get("x-put-timestamp"))
            delete = _stamp(request.headers.get("x-delete-timestamp"))
        except InvalidTimestamp as exc:
            raise HTTPError(400, str(exc)) from None
        counts = [request.headers.get(h, "0") for h in ("x-object-count", "x-bytes-used")]
        if not all(c.isdigit() for c in counts):
            raise HTTPError(400, "Invalid X-Object-Count or X-Bytes-Used")
        await asyncio.to_thread(broker.put_container, parts[3], put, delete, *map(int, counts))
        return Response(b"", status_code=201)

    async def delete(self, request: Request) -> Response:
        parts, _, _, broker = self._locate(request, entry=False)
        timestamp = request_timestamp(request)
        await self.live_broker(broker)
        await asyncio.to_thread(broker.mark_deleted, timestamp)
        if not await asyncio.to_thread(broker.is_deleted):
            raise HTTPError(409, "Conflict: a newer PUT is recorded",
                            await self.backend_headers(broker))
        return Response(b"", status_code=204)


def _stamp(value: str | None) -> Timestamp:
    return Timestamp.parse(value) if value else Timestamp(0)
