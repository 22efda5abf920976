"""Reading request bodies the way Glance does: small JSON documents, and image data as a stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from nubes.core.api.http import InvalidJSON, Request, parse_json, read_body_limited
from nubes.core.exceptions import BadRequest, UnsupportedMediaType
from nubes.image.exceptions import ClientDisconnected


async def read_json(req: Request) -> Any:
    raw = await read_body_limited(req, req.rt.max_request_body)
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    try:
        body = parse_json(raw)
    except InvalidJSON as exc:
        # Glance's words for text that is not JSON; past one of the reader's limits, which one.
        raise BadRequest("Malformed JSON in request body." if exc.syntax else exc.message) from None
    if not isinstance(body, (dict, list)):
        raise BadRequest("Unexpected body type. Expected list/dict.")
    return body


def require_octet_stream(req: Request) -> None:
    ctype = req.headers.get("content-type")
    media = (ctype or "").split(";")[0].strip().lower()
    if media != "application/octet-stream":
        raise UnsupportedMediaType(f"Invalid content type {ctype}")


def declared_size(req: Request) -> int | None:
    for header in ("content-length", "x-openstack-image-size"):
        value = req.headers.get(header)
        if value and value.strip().isdigit():
            return int(value)
    return None


async def chunks(req: Request) -> AsyncIterator[bytes]:
    """The request body as it arrives, chunk by chunk, straight from the ASGI server."""
    receive = req.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected()
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return
