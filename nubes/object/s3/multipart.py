"""Multipart uploads: CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload,
AbortMultipartUpload and ListMultipartUploads, kept as Swift's s3api keeps them: in the bucket's
``<bucket>+segments`` container, an upload is a marker object ``<key>/<upload id>`` (holding the
object's content type and metadata) and its parts ``<key>/<upload id>/<part number, 5 digits>``.

Completing an upload writes a static large object manifest at the key (``PUT
?multipart-manifest=put`` through the proxy, which checks every part's ETag and size): the
parts it names, in their order, are the object. Its Content-Type carries the S3 ETag (MD5 of the
parts' MD5s, ``-<count>``) as the parameter ``s3_etag``, so listings, which know the manifest's
size and Swift's SLO ETag, tell S3's; the S3 API hides it."""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from nubes.object.proxy import container, obj
from nubes.object.s3 import documents, payload
from nubes.object.s3.buckets import MAX_KEYS, iso_time, owner, segments_container
from nubes.object.s3.documents import Tree, xml_response
from nubes.object.s3.errors import S3Error, not_implemented
from nubes.object.s3.objects import delete_one, store, swift_headers

MIN_PART = 5 * 1024 * 1024          # S3's smallest part but the last
MAX_PART_NUMBER = 10000
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")


def _part_name(key: str, upload_id: str, number: int) -> str:
    return f"{key}/{upload_id}/{number:05d}"


def _upload_id(req: Any) -> str:
    value = req.query.get("uploadId", "")
    if not _UPLOAD_ID.fullmatch(value):
        raise S3Error("NoSuchUpload", UploadId=value)
    return value


async def _marker(req: Any, upload_id: str) -> Response:
    """The upload's marker object; NoSuchUpload (or NoSuchBucket) without one."""
    await req.swift.head_container(req.bucket)
    try:
        return await req.swift.head_object(segments_container(req.bucket),
                                           f"{req.key}/{upload_id}")
    except S3Error as err:
        if err.code in ("NoSuchKey", "NoSuchBucket"):
            raise S3Error("NoSuchUpload", UploadId=upload_id) from None
        raise


async def _parts(req: Any, upload_id: str) -> list[dict[str, Any]]:
    """Every part uploaded so far (listing entries), in part order."""
    segments, prefix = segments_container(req.bucket), f"{req.key}/{upload_id}/"
    out: list[dict[str, Any]] = []
    marker = ""
    while True:
        page = await req.swift.list_objects(segments, prefix=prefix, marker=marker)
        out.extend(e for e in page if re.fullmatch(r"\d{5}", e["name"][len(prefix):]))
        if len(page) < req.swift.cluster.listing_limit:
            return out
        marker = page[-1]["name"]


def _number(entry: dict[str, Any]) -> int:
    return int(entry["name"].rsplit("/", 1)[1])


async def create(req: Any) -> Response:
    headers = swift_headers(req.headers)
    headers.pop("etag", None)
    # the type the object will have: guessed from its key, as a PUT of it would be
    headers.setdefault("content-type", mimetypes.guess_type(req.key)[0] or
                       "application/octet-stream")
    swift = req.swift
    await swift.head_container(req.bucket)
    segments = segments_container(req.bucket)
    if not await swift.exists(segments):
        await swift.call(container.put, "PUT", segments, bucket=segments)
    upload_id = uuid.uuid4().hex
    await swift.call(obj.put, "PUT", segments, f"{req.key}/{upload_id}",
                     headers={**headers, "content-length": "0"}, bucket=req.bucket, key=req.key)
    return xml_response("InitiateMultipartUploadResult", [
        ("Bucket", req.bucket), ("Key", req.key), ("UploadId", upload_id)])


async def upload_part(req: Any) -> Response:
    if "x-amz-copy-source" in req.headers:
        raise not_implemented("UploadPartCopy")
    number = req.query.get("partNumber", "")
    if not number.isdigit() or not 1 <= int(number) <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", f"Part number must be an integer between 1 and "
                                         f"{MAX_PART_NUMBER}, inclusive",
                      ArgumentName="partNumber", ArgumentValue=number)
    upload_id = _upload_id(req)
    await _marker(req, upload_id)
    headers = {"content-length": str(payload.object_length(req))}
    md5 = payload.content_md5(req.headers)
    if md5:
        headers["etag"] = md5
    segments = segments_container(req.bucket)
    resp = await req.swift.call(obj.put, "PUT", segments,
                                _part_name(req.key, upload_id, int(number)), headers=headers,
                                body=payload.body(req), bucket=req.bucket, key=req.key)
    return Response(b"", 200, headers={"ETag": f'"{resp.headers.get("etag", "")}"'})


async def list_parts(req: Any) -> Response:
    upload_id = _upload_id(req)
    await _marker(req, upload_id)
    max_parts = _int(req.query, "max-parts", MAX_KEYS)
    after = _int(req.query, "part-number-marker", 0)
    parts = [p for p in await _parts(req, upload_id) if _number(p) > after]
    page, truncated = parts[:max_parts], len(parts) > max_parts
    items: Tree = [("Bucket", req.bucket), ("Key", req.key), ("UploadId", upload_id),
                   ("Initiator", owner(req)), ("Owner", owner(req)), ("StorageClass", "STANDARD"),
                   ("PartNumberMarker", after),
                   ("NextPartNumberMarker", _number(page[-1]) if page else after),
                   ("MaxParts", max_parts), ("IsTruncated", truncated)]
    items.extend(("Part", [("PartNumber", _number(p)),
                           ("LastModified", iso_time(p.get("last_modified", ""))),
                           ("ETag", f'"{p["hash"]}"'), ("Size", p["bytes"])]) for p in page)
    return xml_response("ListPartsResult", items)


def _int(query: dict[str, str], name: str, default: int) -> int:
    value = query.get(name, str(default))
    if not value.isdigit():
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer "
                                         "range", ArgumentName=name, ArgumentValue=value)
    return min(int(value), MAX_KEYS) if name.startswith("max-") else int(value)


def _chosen(req: Any, body: bytes) -> list[tuple[int, str]]:
    """The (part number, ETag) pairs of a CompleteMultipartUpload document, in its order."""
    doc = documents.parse(body, "CompleteMultipartUpload")
    chosen = []
    for part in doc.findall("Part"):
        number, etag = documents.text(part, "PartNumber"), documents.text(part, "ETag")
        if not number or not number.isdigit() or not etag:
            raise S3Error("MalformedXML", "Each Part needs a PartNumber and an ETag.")
        chosen.append((int(number), etag.strip('"')))
    if not chosen:
        raise S3Error("MalformedXML", "A CompleteMultipartUpload document names at least one "
                                      "part.")
    numbers = [n for n, _ in chosen]
    if numbers != sorted(set(numbers)):
        raise S3Error("InvalidPartOrder")
    return chosen


async def complete(req: Any) -> Response:
    upload_id = _upload_id(req)
    marker = await _marker(req, upload_id)
    chosen = _chosen(req, await payload.small_body(req))
    parts = {_number(p): p for p in await _parts(req, upload_id)}
    for i, (number, etag) in enumerate(chosen):
        part = parts.get(number)
        if part is None or part["hash"] != etag:
            raise S3Error("InvalidPart", UploadId=upload_id, PartNumber=number, ETag=etag)
        if i < len(chosen) - 1 and int(part["bytes"]) < MIN_PART:
            raise S3Error("EntityTooSmall", ProposedSize=part["bytes"], MinSizeAllowed=MIN_PART,
                          PartNumber=number, ETag=etag)
    digest = hashlib.md5(b"".join(bytes.fromhex(e) for _, e in chosen), usedforsecurity=False)
    etag = f"{digest.hexdigest()}-{len(chosen)}"
    await _write_manifest(req, marker, [parts[n] for n, _ in chosen], etag)
    segments = segments_container(req.bucket)
    used = {n for n, _ in chosen}
    for number, part in parts.items():          # uploaded, not chosen: no object has them
        if number not in used:
            await delete_one(req, segments, part["name"])
    await delete_one(req, segments, f"{req.key}/{upload_id}")
    return xml_response("CompleteMultipartUploadResult", [
        ("Location", f"/{req.bucket}/{quote(req.key)}"), ("Bucket", req.bucket), ("Key", req.key),
        ("ETag", f'"{etag}"')])


async def _write_manifest(req: Any, marker: Response, parts: list[dict[str, Any]],
                          etag: str) -> None:
    """The object as a static large object over the chosen parts, with the upload's content
    type (the S3 ETag as its parameter) and metadata."""
    headers = {k.lower(): v for k, v in marker.headers.items()
               if k.lower().startswith("x-object-meta-")
               or k.lower() in ("content-encoding", "content-disposition")}
    content_type = marker.headers.get("content-type", "application/octet-stream")
    headers["content-type"] = f"{content_type};s3_etag={etag}"
    segments = segments_container(req.bucket)
    manifest = json.dumps([{"path": quote(f"/{segments}/{p['name']}"), "etag": p["hash"],
                            "size_bytes": int(p["bytes"])} for p in parts]).encode()

    async def body() -> AsyncIterator[bytes]:
        yield manifest

    await store(req, req.bucket, req.key, headers, len(manifest), body(),
                query={"multipart-manifest": "put"})


async def abort(req: Any) -> Response:
    upload_id = _upload_id(req)
    await _marker(req, upload_id)
    segments = segments_container(req.bucket)
    for part in await _parts(req, upload_id):
        await delete_one(req, segments, part["name"])
    await delete_one(req, segments, f"{req.key}/{upload_id}")
    return Response(b"", 204)


async def list_uploads(req: Any) -> Response:
    """The uploads in progress (markers of the segments container), by key then upload id."""
    swift, query = req.swift, req.query
    await swift.head_container(req.bucket)
    segments, prefix = segments_container(req.bucket), query.get("prefix", "")
    uploads: list[tuple[str, str, dict[str, Any]]] = []
    if await swift.exists(segments):
        marker = ""
        while True:
            page = await swift.list_objects(segments, prefix=prefix, marker=marker)
            for entry in page:
                key, _, upload_id = entry["name"].rpartition("/")
                if key and _UPLOAD_ID.fullmatch(upload_id):
                    uploads.append((key, upload_id, entry))
            if len(page) < swift.cluster.listing_limit:
                break
            marker = page[-1]["name"]
    key_marker, id_marker = query.get("key-marker", ""), query.get("upload-id-marker", "")
    if key_marker:
        uploads = [u for u in uploads if u[0] > key_marker or (u[0] == key_marker and id_marker
                                                                and u[1] > id_marker)]
    max_uploads = _int(query, "max-uploads", MAX_KEYS)
    delimiter = query.get("delimiter", "")
    items, common, count = [], [], 0
    last: tuple[str, str] = ("", "")
    truncated = False
    for key, upload_id, entry in uploads:
        if delimiter and delimiter in key[len(prefix):]:
            shared = key[:len(prefix) + key[len(prefix):].index(delimiter) + len(delimiter)]
            if shared in common:
                continue
            if count == max_uploads:
                truncated = True
                break
            common.append(shared)
        else:
            if count == max_uploads:
                truncated = True
                break
            items.append(("Upload", [("Key", key), ("UploadId", upload_id),
                                     ("Initiator", owner(req)), ("Owner", owner(req)),
                                     ("StorageClass", "STANDARD"),
                                     ("Initiated", iso_time(entry.get("last_modified", "")))]))
        count += 1
        last = (key, upload_id)
    result: Tree = [("Bucket", req.bucket), ("KeyMarker", key_marker),
                    ("UploadIdMarker", id_marker),
                    ("NextKeyMarker", last[0] if truncated else None),
                    ("NextUploadIdMarker", last[1] if truncated else None),
                    ("Delimiter", delimiter or None), ("Prefix", prefix or None),
                    ("MaxUploads", max_uploads), ("IsTruncated", truncated), *items,
                    *(("CommonPrefixes", [("Prefix", p)]) for p in common)]
    return xml_response("ListMultipartUploadsResult", result)
