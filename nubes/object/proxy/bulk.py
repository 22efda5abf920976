"""Bulk operations (Swift's bulk middleware): many deletes in one request, and a tar archive
unpacked into objects.

``POST`` (or ``DELETE``) ``/v1/<account>?bulk-delete`` with a body of newline-separated,
URL-encoded ``/<container>/<object>`` or ``/<container>`` paths deletes each (a container only
when empty: ``409 Conflict`` otherwise); at most ``MAX_DELETES`` paths. ``PUT /v1/<account>[/
<container>[/<prefix>]]?extract-archive=tar|tar.gz|tar.bz2`` makes an object of every regular
file of the archive, under the URL's container and prefix (at the account, the first part of
each member's path names its container, made when missing).

Both answer 200 at once with a report of what was done, as Swift does, in the format the
``Accept`` header asks for (text/plain, application/json, application/xml): ``Number
Deleted`` / ``Number Not Found`` or ``Number Files Created``, ``Response Status`` (``200 OK``,
``201 Created`` or the first error's) and ``Errors`` (each failed path and its status). Paths that
are not found are counted, not errors."""

from __future__ import annotations

import asyncio
import json
import tarfile
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from starlette.responses import Response

from nubes.object.proxy import constraints
from nubes.object.proxy.errors import SwiftError

# the limits /info announces (constraints.info)
MAX_DELETES = constraints.info(0, 0)["bulk_delete"]["max_deletes_per_request"]
MAX_FAILED_DELETES = constraints.info(0, 0)["bulk_delete"]["max_failed_deletes"]
MAX_CONTAINERS = constraints.info(0, 0)["bulk_upload"]["max_containers_per_extraction"]
MAX_FAILED_EXTRACTIONS = constraints.info(0, 0)["bulk_upload"]["max_failed_extractions"]
MAX_PATH_LENGTH = constraints.MAX_CONTAINER_NAME_LENGTH + constraints.MAX_OBJECT_NAME_LENGTH + 2
ARCHIVE_MODES = {"tar": "r|", "tar.gz": "r|gz", "tar.bz2": "r|bz2"}
READ = 64 * 1024

DeleteObject = Callable[[str, str], Awaitable[Any]]
DeleteContainer = Callable[[str], Awaitable[Any]]


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def report(req: Any, kind: str, fields: dict[str, Any], status: str,
           errors: list[tuple[str, str]]) -> Response:
    """The bulk answer: ``fields`` then Response Body, Response Status and Errors."""
    body = {**fields, "Response Body": "", "Response Status": status,
            "Errors": [[name, why] for name, why in errors]}
    accept = req.headers.get("accept", "")
    if "application/json" in accept:
        return Response(json.dumps(body).encode(), 200, media_type="application/json")
    if "xml" in accept:
        items = "".join(f"<{_tag(k)}>{escape(str(v))}</{_tag(k)}>" for k, v in body.items() if k != "Errors")
        errs = "".join(f"<object><name>{escape(n)}</name><status>{escape(s)}</status></object>"
                       for n, s in errors)
        xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<{kind}>{items}<errors>{errs}</errors></{kind}>\n'
        return Response(xml.encode(), 200, media_type="application/xml")
    lines = [f"{k}: {v}" for k, v in body.items() if k != "Errors"] + ["Errors:"]
    lines += [f"{name}, {why}" for name, why in errors]
    return Response(("\n".join(lines) + "\n").encode(), 200, media_type="text/plain")


def _tag(key: str) -> str:
    return key.lower().replace(" ", "_")


async def _read_body(req: Any, limit: int) -> bytes:
    body = b""
    async for chunk in req.stream():
        body += chunk
        if len(body) > limit:
            raise SwiftError(413, f"Maximum Bulk Deletes: {MAX_DELETES} per request")
    return body


def delete_paths(body: bytes) -> list[tuple[str, str | None]]:
    """(container, object or None) of each line; 400 for a line that names neither."""
    out: list[tuple[str, str | None]] = []
    for line in body.decode("utf-8", "replace").splitlines():
        path = unquote(line.strip()).lstrip("/")
        if not path:
            continue
        container, _, obj = path.partition("/")
        out.append((container, obj or None))
    if len(out) > MAX_DELETES:
        raise SwiftError(413, f"Maximum Bulk Deletes: {MAX_DELETES} per request")
    return out


async def bulk_delete(req: Any, delete_object: DeleteObject, delete_container: DeleteContainer
                      ) -> Response:
    body = await _read_body(req, MAX_DELETES * (MAX_PATH_LENGTH * 3 + 2))
    paths = delete_paths(body)
    deleted = not_found = 0
    errors: list[tuple[str, str]] = []
    for container, obj in paths:
        name = quote(f"/{container}" + (f"/{obj}" if obj else ""))
        try:
            constraints.check_container(container)
            if obj is None:
                await delete_container(container)
            else:
                constraints.check_object_name(obj)
                await delete_object(container, obj)
            deleted += 1
        except SwiftError as e:
            if e.status == 404:
                not_found += 1
                continue
            errors.append((name, status_line(e.status)))
            if len(errors) >= MAX_FAILED_DELETES:
                break
    status = status_line(400 if errors and any(not s.startswith("5") for _, s in errors) else
                         502 if errors else 200)
    return report(req, "delete", {"Number Deleted": deleted, "Number Not Found": not_found}, status, errors)


StoreObject = Callable[[str, str, int, AsyncIterator[bytes]], Awaitable[Any]]
EnsureContainer = Callable[[str], Awaitable[bool]]


async def extract_archive(req: Any, fmt: str, container: str | None, prefix: str,
                          store: StoreObject, ensure_container: EnsureContainer) -> Response:
    """Unpack the request's archive. ``store(container, obj, length, chunks)`` writes one object;
    ``ensure_container(name)`` makes a container unless it exists (True when it was made)."""
    mode = ARCHIVE_MODES.get(fmt)
    if mode is None:
        raise SwiftError(400, "Unsupported archive format")
    spool = tempfile.TemporaryFile()
    try:
        async for chunk in req.stream():
            await asyncio.to_thread(spool.write, chunk)
        await asyncio.to_thread(spool.seek, 0)
        return await _extract(req, spool, mode, container, prefix, store, ensure_container)
    finally:
        spool.close()


async def _extract(req: Any, spool: Any, mode: str, container: str | None, prefix: str,
                   store: StoreObject, ensure_container: EnsureContainer) -> Response:
    created, made_containers = 0, 0
    errors: list[tuple[str, str]] = []
    seen: set[str] = set()
    try:
        archive = await asyncio.to_thread(tarfile.open, fileobj=spool, mode=mode)
    except (tarfile.TarError, OSError, EOFError):
        raise SwiftError(400, "Invalid Tar File: not a readable archive") from None
    try:
        while True:
            try:
                member = await asyncio.to_thread(archive.next)
            except (tarfile.TarError, OSError, EOFError):
                errors.append(("", "400 Bad Request: Invalid Tar File"))
                break
            if member is None:
                break
            if not member.isreg():
                continue
            name = member.name.lstrip("./").lstrip("/")
            path = f"{prefix}/{name}" if prefix else name
            c, o = (container, path) if container else (path.partition("/")[0], path.partition("/")[2])
            shown = quote(f"/{c}/{o}")
            try:
                if not c or not o:
                    raise SwiftError(400)
                constraints.check_container(c)
                constraints.check_object_name(o)
                if c not in seen:
                    if len(seen) >= MAX_CONTAINERS:
                        raise SwiftError(400, "More than max_containers_per_extraction containers")
                    made_containers += int(await ensure_container(c))
                    seen.add(c)
                reader = archive.extractfile(member)
                await store(c, o, member.size, _chunks(reader))
                created += 1
            except SwiftError as e:
                errors.append((shown, status_line(e.status)))
                if len(errors) >= MAX_FAILED_EXTRACTIONS:
                    break
    finally:
        await asyncio.to_thread(archive.close)
    status = status_line(400 if errors else 201)
    return report(req, "extract", {"Number Files Created": created}, status, errors)


async def _chunks(reader: Any) -> AsyncIterator[bytes]:
    while True:
        data = await asyncio.to_thread(reader.read, READ)
        if not data:
            return
        yield data
