"""Dynamic large objects (Swift's DLO): a manifest object whose ``X-Object-Manifest:
<container>/<prefix>`` names its segments, the objects of that container whose names start with
the prefix, in name order (what ``swift upload -S`` makes when the cluster offers no SLO).

GET and HEAD of a manifest answer the segments joined: their total length, and as ETag the MD5
of the segments' ETags, quoted, as Swift does. A single byte range is served across segments;
a request with several ranges gets the whole object (200, which HTTP allows). ``?multipart-
manifest=get`` answers the manifest itself. The segments are listed when the manifest is read,
so a segment uploaded later is part of the object from then on."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response, StreamingResponse

from nubes.object.proxy.base import Cluster, not_found_or_unavailable
from nubes.object.proxy.errors import SwiftError

MANIFEST = "x-object-manifest"


def check_manifest(value: str) -> None:
    container, sep, _prefix = unquote(value).partition("/")
    if not sep or not container or value.startswith("/"):
        raise SwiftError(400, "X-Object-Manifest must be in the format container/prefix")


async def segments(cluster: Cluster, account: str, manifest: str) -> tuple[str, list[dict[str, Any]]]:
    """The segment container and its segments (name, bytes, hash), every page of the listing."""
    container, _, prefix = unquote(manifest).partition("/")
    out: list[dict[str, Any]] = []
    marker = ""
    while True:
        part, nodes = cluster.read_nodes(cluster.container_ring, account, container)
        params = {"format": "json", "prefix": prefix, "limit": str(cluster.listing_limit)}
        if marker:
            params["marker"] = marker
        answer, others = await cluster.backend.first_good(nodes, part, "GET", (account, container),
                                                          {}, params)
        if answer is None:
            if any(a.status == 404 for a in others):
                return container, out              # no segment container: an empty object
            raise not_found_or_unavailable(others)
        page = json.loads(answer.body or b"[]")
        out.extend(s for s in page if "name" in s)
        if len(page) < cluster.listing_limit:
            return container, out
        marker = page[-1].get("name") or page[-1].get("subdir", "")


def _etag(segs: list[dict[str, Any]]) -> str:
    return '"' + hashlib.md5("".join(s["hash"] for s in segs).encode(), usedforsecurity=False).hexdigest() + '"'


def _one_range(value: str | None, total: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single ``bytes=`` range; None for none, several, or one
    that does not parse (the whole object is served); 416 for one past the end."""
    if not value or not value.strip().lower().startswith("bytes=") or "," in value:
        return None
    first, sep, last = value.strip()[6:].strip().partition("-")
    if not sep or not (first.isdigit() or last.isdigit()) or (first and not first.isdigit()) \
            or (last and not last.isdigit()):
        return None
    if not first:
        length = int(last)
        if length == 0:
            raise SwiftError(416, "Requested Range Not Satisfiable")
        return max(0, total - length), total
    start = int(first)
    end = min(int(last) + 1, total) if last else total
    if start >= total or end <= start:
        raise SwiftError(416, "Requested Range Not Satisfiable")
    return start, end


async def _stream(cluster: Cluster, account: str, container: str, segs: list[dict[str, Any]],
                  start: int, end: int, open_newest: Callable[..., Any]) -> AsyncIterator[bytes]:
    offset = 0
    for seg in segs:
        size = int(seg["bytes"])
        lo, hi = max(start, offset), min(end, offset + size)
        offset += size
        if lo >= hi:
            continue
        headers = {} if (lo, hi) == (offset - size, offset) else \
            {"range": f"bytes={lo - (offset - size)}-{hi - (offset - size) - 1}"}
        resp = await open_newest(cluster, account, container, seg["name"], headers)
        try:
            async for chunk in resp.aiter_raw():
                yield chunk
        finally:
            await resp.aclose()


def judge(req: Any, etag: str, total: int, headers: dict[str, str]) -> Response | tuple[int, int, int]:
    """A joined object's answer to the client's conditions and range (DLO and SLO alike): a
    finished 412, 304 or HEAD answer, else (status, start, end) with ``headers`` completed."""
    if_match, if_none = req.headers.get("if-match"), req.headers.get("if-none-match")
    if if_match and if_match.strip() != "*" and etag not in [t.strip() for t in if_match.split(",")]:
        return Response(b"", 412, headers=headers)
    if if_none and (if_none.strip() == "*" or etag in [t.strip() for t in if_none.split(",")]):
        return Response(b"", 304, headers=headers)
    span = _one_range(req.headers.get("range"), total) if total else None
    start, end = span or (0, total)
    headers["Content-Length"] = str(end - start)
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{total}"
    if req.method == "HEAD":
        return Response(b"", status, headers=headers)
    return status, start, end


async def serve(cluster: Cluster, req: Any, account: str, manifest_headers: dict[str, str],
                open_newest: Callable[..., Any]) -> Response:
    """The answer to a GET or HEAD of a manifest whose own headers are ``manifest_headers``."""
    manifest = next(v for k, v in manifest_headers.items() if k.lower() == MANIFEST)
    container, segs = await segments(cluster, account, manifest)
    total = sum(int(s["bytes"]) for s in segs)
    etag = _etag(segs)
    headers = {k: v for k, v in manifest_headers.items()
               if k.lower() not in ("etag", "content-length", "content-range")}
    headers["Etag"] = etag
    judged = judge(req, etag, total, headers)
    if isinstance(judged, Response):
        return judged
    status, start, end = judged
    return StreamingResponse(_stream(cluster, account, container, segs, start, end, open_newest),
                             status, headers=headers)
