"""Reading request bodies the way Glance does: small JSON documents, and image data as a stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from nubes.core.api.http import Request, read_body_limited
from nubes.core.exceptions import BadRequest, UnsupportedMediaType
from nubes.image.exceptions import ClientDisconnected


async def read_json(req: Request) -> Any:
    raw = await read_body_limited(req, req.rt.max_request_body)
    if not raw.strip():
        raise BadRequest("Body expected in request.")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Malformed JSON in request body.") from None
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
