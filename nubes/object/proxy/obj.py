"""``/v1/<account>/<container>/<object>``: PUT (streamed to every replica), GET and HEAD
(first good replica; newest for HEAD), POST (metadata), DELETE, COPY and PUT with
``X-Copy-From``.

An object PUT or DELETE tells each object server one container replica to update
(``X-Container-Host``, ``-Device``, ``-Partition``), so the container's listing learns of it."""

from __future__ import annotations

import json
import logging
import mimetypes
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, unquote

import httpx
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from nubes.object.proxy import constraints, dlo, object_versioning, slo, symlink, versioning
from nubes.object.proxy import container as containers
from nubes.object.proxy.backend import OverLimit, best_status
from nubes.object.proxy.base import (Cluster, authorize, client_headers, passed, quorum_response,
                                     timestamp)
from nubes.object.proxy.errors import SwiftError

LOG = logging.getLogger(__name__)
META = ("x-object-meta-",)
STORED = ("content-type", "content-encoding", "content-disposition", "etag", "if-none-match",
          dlo.MANIFEST)
CONDITIONS = ("range", "if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
# A good answer to a GET: the object, a part of it, or the client's own condition failing.
SERVED = {200, 206, 304, 412, 416}


def container_update_headers(cluster: Cluster, account: str, container: str,
                             count: int) -> list[dict[str, str]]:
    part, primaries = cluster.container_ring.get_nodes(account, container)
    return [{"x-container-host": f"{node.ip}:{node.port}", "x-container-device": node.device,
             "x-container-partition": str(part)}
            for node in (primaries[i % len(primaries)] for i in range(count))]


def _ts(headers: httpx.Headers) -> str:
    # Normal and internal forms both sort as text (ten digits, a dot, five decimals).
    return headers.get("x-backend-timestamp") or headers.get("x-timestamp") or ""


async def _open_newest(cluster: Cluster, account: str, container: str, obj: str,
                       headers: dict[str, str]) -> httpx.Response:
    """An open GET of the object from the first replica that serves it (primaries, then
    handoffs), passing over one whose copy is older than a deletion another replica saw."""
    part, nodes = cluster.read_nodes(cluster.object_ring, account, container, obj)
    path = (account, container, obj)
    tombstone, statuses = "", []
    for node in cluster.backend.usable(nodes):
        resp = await cluster.backend.open(node, part, "GET", path, headers)
        if resp is None:
            continue
        statuses.append(resp.status_code)
        if resp.status_code in SERVED:
            if tombstone and _ts(resp.headers) and _ts(resp.headers) < tombstone:
                await resp.aclose()
                continue
            return resp
        if resp.status_code == 404:
            tombstone = max(tombstone, resp.headers.get("x-backend-timestamp", ""))
        await resp.aclose()
        if 400 <= resp.status_code < 500 and resp.status_code != 404:
            raise SwiftError(resp.status_code)
    raise SwiftError(404 if 404 in statuses else 503)


def _wants_manifest(req: Any) -> bool:
    return req.query_params.get("multipart-manifest") == "get"


async def _large_object(cluster: Cluster, req: Any, account: str, container: str, obj: str,
                        resp: httpx.Response) -> Response | None:
    """The answer for a DLO or SLO manifest (``resp`` is what the replica answered to the
    client's conditions and range, which were about the manifest's own body); None otherwise."""
    wants_manifest = _wants_manifest(req)
    if wants_manifest and not slo.is_manifest(resp.headers):
        return None
    if dlo.MANIFEST not in resp.headers and not slo.is_manifest(resp.headers) and \
            resp.status_code not in (304, 412, 416):
        return None
    await resp.aclose()
    plain = await _open_newest(cluster, account, container, obj, {})
    if slo.is_manifest(plain.headers):
        body = await _read_manifest(plain)
        if wants_manifest:
            return slo.manifest_response(req, client_headers(plain.headers), body)
        return await slo.serve(cluster, req, account, client_headers(plain.headers), body,
                               _open_newest, _fetcher(cluster, account))
    await plain.aclose()
    if dlo.MANIFEST not in plain.headers or wants_manifest:
        if resp.status_code == 416:
            raise SwiftError(416, "Requested Range Not Satisfiable")
        if resp.status_code in (304, 412):
            return Response(b"", resp.status_code, headers={
                k: v for k, v in client_headers(resp.headers).items() if k.lower() != "content-length"})
        return None
    return await dlo.serve(cluster, req, account, client_headers(plain.headers), _open_newest)


async def _read_manifest(resp: httpx.Response) -> bytes:
    try:
        body = b""
        async for chunk in resp.aiter_raw():
            body += chunk
            if len(body) > slo.MAX_MANIFEST_SIZE:
                raise SwiftError(500, "Unable to load SLO manifest")
        return body
    finally:
        await resp.aclose()


def _fetcher(cluster: Cluster, account: str) -> Any:
    """A nested manifest's body, by (container, object)."""
    async def fetch(container: str, obj: str) -> bytes:
        resp = await _open_newest(cluster, account, container, obj, {})
        if not slo.is_manifest(resp.headers):
            await resp.aclose()
            raise SwiftError(409, f"Object segment no longer valid: /{container}/{obj}")
        return await _read_manifest(resp)

    return fetch


async def _segment_headers(cluster: Cluster, account: str, container: str, obj: str) -> dict[str, str]:
    resp = await _open_newest(cluster, account, container, obj, {})
    await resp.aclose()
    if resp.status_code != 200:
        raise SwiftError(resp.status_code)
    return {k.lower(): v for k, v in resp.headers.items()}


async def _link(cluster: Cluster, account: str, container: str, obj: str, resp: httpx.Response
                ) -> tuple[tuple[str, str, str] | None, Any]:
    """The link ``resp`` (a GET's answer to the client's conditions) is, and its headers; a
    failed condition may have been judged on a link, so then the object is looked at again."""
    target = symlink.target_of(resp.headers, account)
    if target is not None or resp.status_code not in (304, 412, 416):
        return target, resp.headers
    plain = await _open_newest(cluster, account, container, obj, {})
    await plain.aclose()
    return symlink.target_of(plain.headers, account), plain.headers


async def _follow(cluster: Cluster, req: Any, target: tuple[str, str, str], link: Any, hops: int,
                  answer: Any) -> Response:
    """The answer of the link's target (``answer``: _get or _head), ``Content-Location`` naming it."""
    account, container, obj = target
    if hops >= symlink.SYMLOOP_MAX:
        raise SwiftError(409, f"Too many levels of symbolic links, maximum allowed is {symlink.SYMLOOP_MAX}")
    authorize(req, account, write=False)
    response = await answer(cluster, req, account, container, obj, hops + 1)
    try:
        if response.status_code in (200, 206):
            symlink.check_static(link, response.headers)
    except SwiftError:
        if response.background is not None:
            await response.background()
        raise
    response.headers["Content-Location"] = symlink.location(account, container, obj)
    return response


async def get(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    authorize(req, account, write=False)
    versioned = await object_versioning.read(cluster, req, account, container, obj, _get)
    if versioned is not None:
        return versioned
    return await _get(cluster, req, account, container, obj, 0)


async def _get(cluster: Cluster, req: Any, account: str, container: str, obj: str, hops: int
               ) -> Response:
    resp = await _open_newest(cluster, account, container, obj, passed(req.headers, (), CONDITIONS))
    target, link = await _link(cluster, account, container, obj, resp)
    if target is not None and not symlink.wants_link(req):
        await resp.aclose()
        return await _follow(cluster, req, target, link, hops, _get)
    large = None if target is not None else await _large_object(cluster, req, account, container,
                                                                obj, resp)
    if large is not None:
        return large
    headers = client_headers(resp.headers, keep_length=True)
    if target is not None:
        headers.update(symlink.link_headers(link))
    if resp.status_code in (304, 412, 416):
        await resp.aclose()
        headers.pop("Content-Length", None)
        headers.pop("content-length", None)
        return Response(b"", resp.status_code, headers=headers)
    return StreamingResponse(resp.aiter_raw(), resp.status_code, headers=headers,
                             background=BackgroundTask(resp.aclose))


async def head(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    authorize(req, account, write=False)
    versioned = await object_versioning.read(cluster, req, account, container, obj, _head)
    if versioned is not None:
        return versioned
    return await _head(cluster, req, account, container, obj, 0)


async def _head(cluster: Cluster, req: Any, account: str, container: str, obj: str, hops: int
                ) -> Response:
    """Every primary at once; the newest copy answers (unless a newer deletion was seen)."""
    part, primaries, handoffs = cluster.nodes(cluster.object_ring, account, container, obj)
    path = (account, container, obj)
    conditions = passed(req.headers, (), CONDITIONS)
    answers = [a for a in await cluster.backend.fan_out(
        primaries, handoffs, part, "HEAD", path, [conditions] * len(primaries)) if a is not None]
    good = [a for a in answers if a.status in SERVED]
    tombstone = max((a.headers.get("x-backend-timestamp", "") for a in answers
                     if a.status == 404), default="")
    if good:
        newest = max(good, key=lambda a: _ts(a.headers))
        if not tombstone or _ts(newest.headers) >= tombstone:
            target = symlink.target_of(newest.headers, account)
            if target is not None and not symlink.wants_link(req):
                return await _follow(cluster, req, target, newest.headers, hops, _head)
            if target is not None:
                return Response(b"", newest.status, headers={
                    **client_headers(newest.headers, keep_length=True),
                    **symlink.link_headers(newest.headers)})
            if dlo.MANIFEST in newest.headers and not _wants_manifest(req):
                return await dlo.serve(cluster, req, account, client_headers(newest.headers),
                                       _open_newest)
            if slo.is_manifest(newest.headers):
                plain = await _open_newest(cluster, account, container, obj, {})
                large = await _large_object(cluster, req, account, container, obj, plain)
                if large is not None:
                    return large
            return Response(b"", newest.status, headers=client_headers(newest.headers,
                                                                        keep_length=True))
        raise SwiftError(404)
    if any(a.status == 404 for a in answers):
        raise SwiftError(404)
    raise SwiftError(503)


def _object_headers(req_headers: Any, obj: str) -> dict[str, str]:
    headers = passed(req_headers, META, STORED)
    if not headers.get("content-type"):
        headers["content-type"] = mimetypes.guess_type(obj)[0] or "application/octet-stream"
    delete_at = constraints.delete_at(req_headers)
    if delete_at is not None:
        headers["x-delete-at"] = delete_at
    return headers


async def store(cluster: Cluster, account: str, container: str, obj: str,
                headers: dict[str, str], length: int | None, source: AsyncIterator[bytes],
                versioned: bool = True, ts: str | None = None) -> Response:
    """Write the object (at ``ts``, else now); in a versioned container (unless ``versioned`` is
    off: a version's own write) the object it replaces is archived first, or in one with object
    versioning enabled the data is stored as a version (object_versioning.py)."""
    raw = await containers.cached_raw_info(cluster, account, container)
    if versioned and object_versioning.enabled(raw):
        return await object_versioning.store(cluster, account, container, obj, headers, length,
                                              source, raw)
    archive = versioning.archive_of(raw)
    if archive is not None and versioned:
        await _archive(cluster, account, container, obj, archive[0])
    part, primaries, handoffs = cluster.nodes(cluster.object_ring, account, container, obj)
    ts = ts or timestamp()
    common = {**headers, "x-timestamp": ts}
    if length is not None:
        common["content-length"] = str(length)
    per_node = [{**common, **extra} for extra in container_update_headers(
        cluster, account, container, len(primaries))]
    try:
        answers, sent = await cluster.backend.put_stream(
            primaries, handoffs, part, (account, container, obj), per_node, source,
            cluster.max_file_size)
    except OverLimit:
        raise SwiftError(413, "Your request is too large.") from None
    except ClientDisconnect:
        raise SwiftError(499) from None
    if length is not None and sent != length:
        raise SwiftError(499)
    status = best_status([a.status_code if a is not None else None for a in answers],
                         len(primaries))
    if status is None or status >= 500:
        LOG.warning("PUT %s/%s/%s: no quorum of %d among %s", account, container, obj,
                    len(primaries), [(a.status_code if a is not None else None) for a in answers])
        raise SwiftError(503)
    if status >= 400:
        raise SwiftError(status)
    etags = {a.headers.get("etag", "").strip('"') for a in answers
             if a is not None and a.status_code == status}
    etags.discard("")
    if len(etags) > 1:
        raise SwiftError(503)
    out = {"Last-Modified": _http_date(ts)}
    if etags:
        out["Etag"] = etags.pop()
    return Response(b"", status, headers=out)


def _http_date(ts: str) -> str:
    from email.utils import formatdate

    return formatdate(int(float(ts)) + 1, usegmt=True)    # Swift rounds Last-Modified up


async def put(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    authorize(req, account, write=True)
    object_versioning.refuse_version_id(req)
    constraints.check_object_name(obj)
    constraints.check_metadata(req.headers, "object")
    if "x-copy-from" in req.headers:
        source = _split_copy_path(req.headers["x-copy-from"], "X-Copy-From")
        return await _copy(cluster, req, account, source, (container, obj))
    if req.query_params.get("multipart-manifest") == "put":
        return await _put_manifest(cluster, req, account, container, obj)
    if slo.HEADER in req.headers:
        raise SwiftError(400, "X-Static-Large-Object is a reserved header. To create a static large "
                              "object add query param multipart-manifest=put.")
    link = symlink.put_headers(req.headers, account)
    if link is not None:
        return await _put_link(cluster, req, account, container, obj, link)
    if dlo.MANIFEST in req.headers:
        dlo.check_manifest(req.headers[dlo.MANIFEST])
    length = constraints.check_length(req.headers, cluster.max_file_size)
    headers = _object_headers(req.headers, obj)
    return await store(cluster, account, container, obj, headers, length, req.stream())


async def _put_manifest(cluster: Cluster, req: Any, account: str, container: str, obj: str
                        ) -> Response:
    body = b""
    async for chunk in req.stream():
        body += chunk
        if len(body) > slo.MAX_MANIFEST_SIZE:
            break
    entries = slo.parse_put_body(body)

    async def head(seg_container: str, seg_obj: str) -> dict[str, str]:
        return await _segment_headers(cluster, account, seg_container, seg_obj)

    segs = await slo.build(cluster, account, entries, head)
    stored = json.dumps([seg.stored() for seg in segs]).encode()
    headers = _object_headers(req.headers, obj)
    headers.pop("etag", None)           # the client's ETag names the segments' (checked below)
    headers.update(slo.stored_headers(segs, headers["content-type"]))
    etag = headers[slo.ETAG]
    wanted = req.headers.get("etag", "").strip('"')
    if wanted and wanted != etag:
        raise SwiftError(422, "Unprocessable Entity")

    answer = await store(cluster, account, container, obj, headers, len(stored), _once(stored))
    answer.headers["Etag"] = f'"{etag}"'
    return answer


async def _put_link(cluster: Cluster, req: Any, account: str, container: str, obj: str,
                    link: dict[str, str]) -> Response:
    headers = _object_headers(req.headers, obj)
    if not req.headers.get("content-type"):
        headers["content-type"] = symlink.CONTENT_TYPE
    headers.pop("etag", None)
    headers.update(link)
    if "x-symlink-target-etag" in req.headers:
        t_account, t_container, t_obj = symlink.target_of(link, account) or ("", "", "")
        authorize(req, t_account, write=False)
        headers.update(symlink.static_headers(
            req.headers, await _segment_headers(cluster, t_account, t_container, t_obj)))
    headers[symlink.UPDATE_CONTENT_TYPE] = symlink.listing_content_type(headers["content-type"], headers)
    return await store(cluster, account, container, obj, headers, 0, _once(b""))


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _split_copy_path(value: str, header: str) -> tuple[str, str]:
    path = unquote(value).lstrip("/")
    container, _, obj = path.partition("/")
    if not container or not obj:
        raise SwiftError(412, f"{header} header must be of the form <container name>/<object name>")
    return container, obj


async def copy(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    """Swift's COPY: ``Destination: <container>/<object>`` in the same account."""
    if "destination-account" in req.headers:
        raise SwiftError(501, "Copies to another account (Destination-Account) are not "
                              "served yet.")
    if "destination" not in req.headers:
        raise SwiftError(412, "Destination header required")
    authorize(req, account, write=True)
    dest = _split_copy_path(req.headers["destination"], "Destination")
    version = await object_versioning.copy_source(cluster, req, account, container, obj)
    return await _copy(cluster, req, account, (container, obj), dest, version)


async def _copy(cluster: Cluster, req: Any, account: str, source: tuple[str, str],
                dest: tuple[str, str], read_from: tuple[str, str] | None = None) -> Response:
    """Stream the source object into the destination: its metadata and content type, with the
    request's on top (only the request's with ``X-Fresh-Metadata: true``). ``read_from``: where
    the source's bytes are when not at its name (one of its versions)."""
    authorize(req, account, write=False)
    constraints.check_object_name(dest[1])
    if "x-copy-from-account" in req.headers:
        raise SwiftError(501, "Copies from another account (X-Copy-From-Account) are not "
                              "served yet.")
    src_account, (src_container, src_obj) = account, read_from or source
    for _hop in range(symlink.SYMLOOP_MAX + 1):
        resp = await _open_newest(cluster, src_account, src_container, src_obj,
                                  passed(req.headers, (), ("if-match", "if-none-match")))
        target = symlink.target_of(resp.headers, src_account)
        if target is None or symlink.wants_link(req):
            break
        await resp.aclose()
        src_account, src_container, src_obj = target
        authorize(req, src_account, write=False)
    else:
        raise SwiftError(409, f"Too many levels of symbolic links, maximum allowed is {symlink.SYMLOOP_MAX}")
    try:
        if resp.status_code != 200:
            raise SwiftError(resp.status_code)
        fresh = req.headers.get("x-fresh-metadata", "").lower() in ("true", "1", "yes", "on")
        headers = {} if fresh else {k.lower(): v for k, v in resp.headers.items()
                                    if k.lower().startswith(META) or k.lower() in
                                    ("content-type", "content-encoding", "content-disposition")}
        headers.update(_object_headers(req.headers, dest[1]) if "content-type" in req.headers
                       else {k: v for k, v in _object_headers(req.headers, dest[1]).items()
                             if k != "content-type"})
        headers.setdefault("content-type", resp.headers.get("content-type",
                                                            "application/octet-stream"))
        headers.pop("etag", None)
        length = int(resp.headers.get("content-length", "0"))
        body: AsyncIterator[bytes] = resp.aiter_raw()
        if symlink.target_of(resp.headers, src_account) is not None:       # the link itself
            headers.update({k.lower(): v for k, v in resp.headers.items()
                            if k.lower().startswith("x-object-sysmeta-symlink-")})
        if slo.is_manifest(resp.headers):
            manifest = await _read_manifest(resp)
            if _wants_manifest(req):      # the manifest itself, still a manifest
                headers.update({k.lower(): v for k, v in resp.headers.items()
                                if k.lower() in (slo.HEADER, slo.ETAG, slo.SIZE)})
                length, body = len(manifest), _once(manifest)
            else:
                headers["content-type"] = slo.strip_swift_bytes(headers["content-type"])
                length, body = await slo.assembled(cluster, src_account, manifest, _open_newest,
                                                   _fetcher(cluster, src_account))
        answer = await store(cluster, account, dest[0], dest[1], headers, length, body)
    finally:
        await resp.aclose()
    answer.headers["X-Copied-From"] = f"{source[0]}/{source[1]}"
    if "last-modified" in resp.headers:
        answer.headers["X-Copied-From-Last-Modified"] = resp.headers["last-modified"]
    return answer


async def post(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    authorize(req, account, write=True)
    object_versioning.refuse_version_id(req)
    constraints.check_metadata(req.headers, "object")
    headers = passed(req.headers, META, ("content-type", "content-encoding",
                                         "content-disposition"))
    delete_at = constraints.delete_at(req.headers)
    if delete_at is not None:
        headers["x-delete-at"] = delete_at
    headers["x-timestamp"] = timestamp()
    part, primaries, handoffs = cluster.nodes(cluster.object_ring, account, container, obj)
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "POST",
                                            (account, container, obj), [headers] * len(primaries))
    response = quorum_response(answers, len(primaries))
    try:
        target = symlink.target_of(await _segment_headers(cluster, account, container, obj), account)
    except SwiftError:          # gone again meanwhile: the POST itself was done
        target = None
    if target is not None:
        return Response(b"", 307, headers={"Location": symlink.location(*target)})
    return response


async def delete(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    authorize(req, account, write=True)
    if object_versioning.version_id_of(req) is not None:
        return await object_versioning.delete_version(cluster, req, account, container, obj)
    if req.query_params.get("multipart-manifest") == "delete":
        return await _delete_manifest(cluster, req, account, container, obj)
    return await remove(cluster, account, container, obj)


async def _delete_manifest(cluster: Cluster, req: Any, account: str, container: str, obj: str
                           ) -> Response:
    """An SLO and every segment it names (a plain object: only itself), answered as bulk delete."""
    resp = await _open_newest(cluster, account, container, obj, {})
    names: list[tuple[str, str]] = []
    if slo.is_manifest(resp.headers):
        segs = slo.read_manifest(await _read_manifest(resp))
        names = await slo.segment_names(cluster, account, segs, _fetcher(cluster, account))
    else:
        await resp.aclose()
    deleted = not_found = 0
    errors: list[tuple[str, str]] = []
    for c, o in [*names, (container, obj)]:
        try:
            await remove(cluster, account, c, o)
            deleted += 1
        except SwiftError as e:
            if e.status == 404:
                not_found += 1
            else:
                errors.append((quote(f"/{c}/{o}"), f"{e.status} {slo.reason_phrase(e.status)}"))
    return slo.delete_report(req, deleted, not_found, errors)


# What an archived version keeps of the object it was: everything a PUT stores.
VERSION_HEADERS = ("content-type", "content-encoding", "content-disposition", "x-delete-at",
                   slo.HEADER, dlo.MANIFEST)


async def _archive(cluster: Cluster, account: str, container: str, obj: str, archive: str,
                   ) -> str | None:
    """Copy the object as stored (a manifest or link itself) to the archive container under its
    version name; None when there is no object, else that name. 412 without the archive."""
    try:
        resp = await _open_newest(cluster, account, container, obj, {})
    except SwiftError as e:
        if e.status == 404:
            return None
        raise
    try:
        try:
            await containers.raw_info(cluster, account, archive)
        except SwiftError as e:
            raise SwiftError(412, f"Versions container {archive} does not exist") if e.status == 404 else e
        headers = {k.lower(): v for k, v in resp.headers.items()
                   if k.lower() in VERSION_HEADERS or k.lower().startswith(META + ("x-object-sysmeta-",))}
        name = versioning.version_name(obj, resp.headers.get("x-timestamp") or timestamp())
        await store(cluster, account, archive, name, headers, int(resp.headers.get("content-length", "0")),
                    resp.aiter_raw(), versioned=False)
        return name
    finally:
        await resp.aclose()


async def _newest_version(cluster: Cluster, account: str, archive: str, obj: str) -> str | None:
    part, nodes = cluster.read_nodes(cluster.container_ring, account, archive)
    params = {"format": "json", "prefix": versioning.prefix(obj), "reverse": "true", "limit": "1"}
    answer, others = await cluster.backend.first_good(nodes, part, "GET", (account, archive), {}, params)
    if answer is None:
        if any(a.status == 404 for a in others):
            return None
        raise SwiftError(503)
    page = json.loads(answer.body or b"[]")
    return page[0]["name"] if page else None


async def remove(cluster: Cluster, account: str, container: str, obj: str) -> Response:
    """Delete the object; in a versioned container as its mode says (see versioning.py), with
    object versioning enabled behind a delete marker (object_versioning.py)."""
    raw = await containers.cached_raw_info(cluster, account, container)
    if object_versioning.enabled(raw):
        return await object_versioning.remove(cluster, account, container, obj, raw)
    archive = versioning.archive_of(raw)
    if archive is None:
        return await _remove(cluster, account, container, obj)
    location, mode = archive
    if mode == "history":
        if await _archive(cluster, account, container, obj, location) is not None:
            await store(cluster, account, location, versioning.version_name(obj, timestamp()),
                        {"content-type": versioning.DELETE_MARKER}, 0, _once(b""), versioned=False)
        return await _remove(cluster, account, container, obj)
    while (name := await _newest_version(cluster, account, location, obj)) is not None:
        try:
            resp = await _open_newest(cluster, account, location, name, {})
        except SwiftError as e:
            if e.status != 404:
                raise
            await _remove(cluster, account, location, name)     # listed but gone: the next one
            continue
        try:
            headers = {k.lower(): v for k, v in resp.headers.items()
                       if k.lower() in VERSION_HEADERS or k.lower().startswith(META + ("x-object-sysmeta-",))}
            await store(cluster, account, container, obj, headers,
                        int(resp.headers.get("content-length", "0")), resp.aiter_raw(), versioned=False)
        finally:
            await resp.aclose()
        await _remove(cluster, account, location, name)
        return Response(b"", 204)
    return await _remove(cluster, account, container, obj)


async def _remove(cluster: Cluster, account: str, container: str, obj: str) -> Response:
    part, primaries, handoffs = cluster.nodes(cluster.object_ring, account, container, obj)
    ts = timestamp()
    headers = [{"x-timestamp": ts, **extra} for extra in container_update_headers(
        cluster, account, container, len(primaries))]
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "DELETE",
                                            (account, container, obj), headers)
    response = quorum_response(answers, len(primaries))
    response.status_code = 204
    return response
