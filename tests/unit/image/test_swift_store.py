"""The swift store against object storage's failures, answered by an httpx mock: a lapsed token,
503, 507, 413, an ETag that is not the data's, no object-store in the catalog, a missing object."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from nubes.core.exceptions import ServiceUnavailable
from nubes.image.drivers.base import DataNotFound, StoreError, StoreFull
from nubes.image.drivers.swift import SwiftStore

BASE = "http://swift.test/v1/AUTH_svc"


class FakeTokens:
    def __init__(self) -> None:
        self.issued = 0

    async def service_token(self) -> str:
        if self.issued == 0:
            self.issued = 1
        return f"token-{self.issued}"

    def forget_service_token(self) -> None:
        self.issued += 1


class FakeClients:
    def __init__(self, handler: Callable[[httpx.Request], httpx.Response], *, catalog: bool = True) -> None:
        self.tokens = FakeTokens()
        self.http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        self.catalog = catalog
        self.requests: list[tuple[str, str, str]] = []

    async def endpoint(self, service_type: str) -> str:
        assert service_type == "object-store"
        if not self.catalog:
            raise ServiceUnavailable("No object-store service in the catalog.")
        return BASE


def store(handler: Callable[[httpx.Request], httpx.Response], **kw) -> tuple[SwiftStore, FakeClients]:
    seen: list[tuple[str, str, str]] = []

    def record(req: httpx.Request) -> httpx.Response:
        seen.append((req.method, req.url.path.removeprefix("/v1/AUTH_svc"), req.headers["x-auth-token"]))
        return handler(req)

    clients = FakeClients(record, **kw)
    clients.requests = seen
    return SwiftStore("swift", clients, large_object_size=1024, large_object_chunk_size=512), clients


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 100):
        yield data[i:i + 100]


def containers_ok(req: httpx.Request) -> httpx.Response | None:
    if req.method == "PUT" and req.url.path.count("/") == 3:       # /v1/AUTH_svc/<container>
        return httpx.Response(202)
    return None


async def test_a_lapsed_token_is_renewed_once():
    def handler(req: httpx.Request) -> httpx.Response:
        if req.headers["x-auth-token"] == "token-1":
            return httpx.Response(401)
        return httpx.Response(200, headers={"content-length": "42"})

    s, clients = store(handler)
    assert await s.size("swift+config://swift/glance/img") == 42
    assert [t for _, _, t in clients.requests] == ["token-1", "token-2"]


async def test_a_token_refused_twice_is_an_error():
    s, clients = store(lambda req: httpx.Response(401))
    with pytest.raises(StoreError, match="refused the image service's credentials"):
        await s.size("swift+config://swift/glance/img")
    assert len(clients.requests) == 2


async def test_a_single_object_write_checks_the_etag():
    data = bytes(range(256)) * 3
    bodies: dict[str, bytes] = {}

    def handler(req: httpx.Request) -> httpx.Response:
        if (ok := containers_ok(req)) is not None:
            return ok
        if req.method == "PUT":
            bodies[req.url.path] = req.read()
            return httpx.Response(201, headers={"etag": hashlib.md5(bodies[req.url.path]).hexdigest()})
        return httpx.Response(204)

    s, _ = store(handler)
    result = await s.write("img", chunks(data), size=len(data))
    assert result.location == "swift+config://swift/glance/img" and result.size == len(data)
    assert result.md5 == hashlib.md5(data).hexdigest() and result.sha512 == hashlib.sha512(data).hexdigest()
    assert bodies == {"/v1/AUTH_svc/glance/img": data}


async def test_an_etag_that_is_not_the_data_fails_and_removes_the_object():
    def handler(req: httpx.Request) -> httpx.Response:
        if (ok := containers_ok(req)) is not None:
            return ok
        if req.method == "PUT":
            req.read()
            return httpx.Response(201, headers={"etag": "0" * 32})
        return httpx.Response(204)

    s, clients = store(handler)
    with pytest.raises(StoreError, match="ETag"):
        await s.write("img", chunks(b"x" * 300), size=300)
    assert ("DELETE", "/glance/img", "token-1") in clients.requests


@pytest.mark.parametrize("status, error, words", [
    (503, StoreError, "answered 503 Service Unavailable"),
    (507, StoreFull, "refused the data"),
    (413, StoreFull, "refused the data"),
])
async def test_object_storage_refusals(status, error, words):
    def handler(req: httpx.Request) -> httpx.Response:
        if (ok := containers_ok(req)) is not None:
            return ok
        if req.method == "PUT":
            req.read()
            return httpx.Response(status, text="<html><h1>Nope</h1><p>no room</p></html>")
        return httpx.Response(404)

    s, _ = store(handler)
    with pytest.raises(error, match=words) as info:
        await s.write("img", chunks(b"x" * 300), size=300)
    assert type(info.value) is error and "no room" in str(info.value)
    # Segmented: the segments written before the failure are removed.
    done: list[str] = []

    def segmented(req: httpx.Request) -> httpx.Response:
        if (ok := containers_ok(req)) is not None:
            return ok
        if req.method == "PUT":
            req.read()
            done.append(req.url.path)
            if len(done) == 2:
                return httpx.Response(status)
            return httpx.Response(201, headers={"etag": "e"})
        if req.method == "DELETE":
            done.append("DELETE " + req.url.path)
        return httpx.Response(204)

    s, _ = store(segmented)
    with pytest.raises(error):
        await s.write("img", chunks(b"x" * 2000), size=2000)
    assert "DELETE " + done[0] in done and "DELETE " + done[1] in done


async def test_no_object_storage_in_the_catalog():
    s, _ = store(lambda req: httpx.Response(500), catalog=False)
    with pytest.raises(StoreError, match="No object-store service"):
        await s.write("img", chunks(b"x"), size=1)


async def test_unreachable_object_storage():
    def handler(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    s, _ = store(handler)
    with pytest.raises(StoreError, match="unreachable"):
        await s.size("swift+config://swift/glance/img")


async def test_reading_a_missing_object_and_foreign_locations():
    s, _ = store(lambda req: httpx.Response(404))
    with pytest.raises(DataNotFound):
        async for _ in s.read("swift+config://swift/glance/img"):
            pass
    await s.delete("swift+config://swift/glance/img")            # nothing there: not an error
    for foreign in ("file:///etc/passwd", "swift+config://other/glance/img", "swift+config://swift/glance/"):
        with pytest.raises(StoreError):
            await s.size(foreign)


async def test_reads_pass_the_range_on():
    data = bytes(range(256)) * 40
    ranges: list[str | None] = []

    def handler(req: httpx.Request) -> httpx.Response:
        ranges.append(req.headers.get("range"))
        if req.headers.get("range") == "bytes=100-199":
            return httpx.Response(206, content=data[100:200])
        return httpx.Response(200, content=data)        # a server that ignores the range

    s, _ = store(handler)
    loc = "swift+config://swift/glance/img"

    async def read(*args) -> bytes:
        return b"".join([c async for c in s.read(loc, *args)])

    assert await read() == data and await read(100, 100) == data[100:200]
    assert await read(0, 10) == data[:10]                # a whole object for a range from 0: cut
    with pytest.raises(StoreError):
        await read(5, 10)                                # ... from elsewhere: refused, not misread
    assert ranges == [None, "bytes=100-199", "bytes=0-9", "bytes=5-14"]
