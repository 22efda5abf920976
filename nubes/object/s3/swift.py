"""S3 operations as calls on the proxy's own controllers (``proxy/account.py``, ``container.py``,
``obj.py``): a subrequest carries the caller's context, Swift headers and query, so the
cluster's code, its authorization (keystoneauth's rules) and its constraints are the Swift
API's; a Swift error comes back as the S3 error for it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response

from nubes.core.context import RequestContext
from nubes.object.proxy import account, container, obj, quotas
from nubes.object.proxy.errors import SwiftError
from nubes.object.s3.errors import S3Error, from_swift

Controller = Callable[..., Awaitable[Response]]


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover  (an async generator that yields nothing)


class SubRequest:
    """What the proxy's controllers read of a request."""

    def __init__(self, ctx: RequestContext, method: str, headers: dict[str, str] | None = None,
                 query: dict[str, str] | None = None,
                 body: AsyncIterator[bytes] | None = None) -> None:
        self.ctx, self.method = ctx, method
        self.headers = Headers(headers={k.lower(): v for k, v in (headers or {}).items()})
        self.query_params = QueryParams(query or {})
        self.scope: dict[str, Any] = {}     # what the proxy keeps per request (access.py, info.py)
        self._body = body

    def stream(self) -> AsyncIterator[bytes]:
        return self._body if self._body is not None else _nothing()


class Swift:
    """The cluster as one caller sees it: their account, the controllers' calls."""

    def __init__(self, cluster: Any, ctx: RequestContext) -> None:
        self.cluster, self.ctx = cluster, ctx
        self.account = f"AUTH_{ctx.project_id}"

    async def call(self, fn: Controller, method: str, *path: str, headers: dict[str, str] | None
                   = None, query: dict[str, str] | None = None,
                   body: AsyncIterator[bytes] | None = None, bucket: str | None = None,
                   key: str | None = None) -> Response:
        """``fn(cluster, request, account, *path)``; a Swift error becomes the S3 error about
        ``bucket`` (and ``key``)."""
        req = SubRequest(self.ctx, method, headers, query, body)
        try:
            if fn is obj.put:
                # The Swift API's quotas are checked in its pipeline (access.py), which
                # S3's calls do not pass through: a write is held to them here.
                length = req.headers.get("content-length", "")
                await quotas.check_upload(self.cluster, req, self.account, path[0],
                                          int(length) if length.isdigit() else None)
            return await fn(self.cluster, req, self.account, *path)
        except SwiftError as exc:
            raise from_swift(exc, bucket, key) from None

    # -- containers ----------------------------------------------------------------------------

    async def list_containers(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            query = {"format": "json", "limit": str(self.cluster.listing_limit)}
            if out:
                query["marker"] = out[-1]["name"]
            resp = await self.call(account.get, "GET", query=query)
            page = json.loads(resp.body or b"[]") if resp.status_code == 200 else []
            out.extend(page)
            if len(page) < self.cluster.listing_limit:
                return out

    async def head_container(self, bucket: str) -> Response:
        return await self.call(container.head, "HEAD", bucket, bucket=bucket)

    async def exists(self, name: str) -> bool:
        try:
            await self.head_container(name)
        except S3Error as err:
            if err.code == "NoSuchBucket":
                return False
            raise
        return True

    async def list_objects(self, bucket: str, **params: str) -> list[dict[str, Any]]:
        """One page of the container's JSON listing (``prefix``, ``delimiter``, ``marker``,
        ``limit``)."""
        query = {"format": "json", **{k: v for k, v in params.items() if v}}
        resp = await self.call(container.get, "GET", bucket, query=query, bucket=bucket)
        if resp.status_code == 204 or not resp.body:
            return []
        return json.loads(resp.body)

    # -- objects -------------------------------------------------------------------------------

    async def head_object(self, bucket: str, key: str, headers: dict[str, str] | None = None,
                          query: dict[str, str] | None = None) -> Response:
        return await self.call(obj.head, "HEAD", bucket, key, headers=headers, query=query,
                               bucket=bucket, key=key)

    async def missing_key_or_bucket(self, err: S3Error, bucket: str) -> S3Error:
        """S3 says NoSuchBucket when the bucket is what is missing, NoSuchKey when the key is."""
        if err.code == "NoSuchKey" and not await self.exists(bucket):
            return S3Error("NoSuchBucket", BucketName=bucket)
        return err
