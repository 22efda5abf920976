"""Handlers for image data: PUT/GET /v2/images/{id}/file and PUT /v2/images/{id}/stage."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from nubes.core.api.http import Request, empty_response
from nubes.image.api import body
from nubes.image.api.policy import ImagePolicy
from nubes.image.drivers.base import DataNotFound, StoreError
from nubes.image.exceptions import ClientDisconnected
from nubes.image.service import data

LOG = logging.getLogger(__name__)


def _state(req: Request) -> Any:
    return req.rt.extra["image"]


async def upload_image_file(req: Request):
    body.require_octet_stream(req)
    image_id = req.path_params["image_id"]
    try:
        await data.upload(_state(req), req.ctx, ImagePolicy(req.ctx), image_id, body.chunks(req),
                          declared=body.declared_size(req),
                          store_id=req.headers.get("x-image-meta-store"))
    except ClientDisconnected:
        LOG.info("client went away while uploading image %s; partial data removed", image_id)
        raise
    return empty_response(204)


async def stage_image_file(req: Request):
    body.require_octet_stream(req)
    image_id = req.path_params["image_id"]
    try:
        await data.stage(_state(req), req.ctx, ImagePolicy(req.ctx), image_id, body.chunks(req),
                         declared=body.declared_size(req))
    except ClientDisconnected:
        LOG.info("client went away while staging image %s; partial data removed", image_id)
        raise
    return empty_response(204)


async def download_image_file(req: Request):
    dl = await data.open_download(_state(req), req.ctx, ImagePolicy(req.ctx), req.path_params["image_id"],
                                  req.headers.get("range"))
    if dl.status == 204:
        return empty_response(204)
    headers = {"content-type": "application/octet-stream", "content-length": str(dl.length)}
    if dl.checksum:
        headers["content-md5"] = dl.checksum
    if dl.content_range:
        headers["content-range"] = dl.content_range
    if req.method == "HEAD":
        return StreamedData(dl.status, headers, None, b"")
    # Read the first chunk here, so missing data is still an answer (204, as Glance gives).
    stream = data.read(dl)
    try:
        first = await anext(stream)
    except StopAsyncIteration:
        first = b""
    except DataNotFound:
        return empty_response(204)
    except StoreError as exc:
        raise data.store_error(exc) from None
    return StreamedData(dl.status, headers, stream, first)


class StreamedData:
    """An ASGI response that sends image data as it is read, and stops if the client leaves."""

    def __init__(self, status: int, headers: dict[str, str], stream: AsyncIterator[bytes] | None,
                 first: bytes) -> None:
        self.status = status
        self.headers = [(k.encode(), v.encode()) for k, v in headers.items()]
        self.stream = stream
        self.first = first

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        if self.stream is None:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        stream = self.stream
        try:
            if self.first:
                await send({"type": "http.response.body", "body": self.first, "more_body": True})
            self.first = b""
            async for chunk in stream:
                if gone.is_set():
                    LOG.info("client stopped reading image data after a partial download")
                    return
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:
            # Headers are gone already: all we can do is cut the connection short.
            LOG.exception("image data could not be read to the end")
        finally:
            watcher.cancel()
            with contextlib.suppress(BaseException):
                await watcher
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
