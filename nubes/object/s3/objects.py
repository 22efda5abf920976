"""Objects: PutObject, GetObject (ranges, conditions, response overrides), HeadObject,
DeleteObject, CopyObject (``x-amz-copy-source``) and DeleteObjects (the multi-delete document).

User metadata ``x-amz-meta-<name>`` is stored as Swift's ``X-Object-Meta-<name>``; ETags are
quoted MD5s, or ``<md5 of the parts' md5s>-<parts>`` for an object a multipart upload made
(multipart.py), whose manifest records that ETag in its Content-Type (``;s3_etag=...``,
hidden from S3 clients)."""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

from starlette.responses import Response, StreamingResponse

from nubes.object.proxy import obj
from nubes.object.s3 import documents, payload
from nubes.object.s3.buckets import SEGMENTS
from nubes.object.s3.documents import xml_response
from nubes.object.s3.errors import S3Error, not_implemented

SLO = "x-static-large-object"
MAX_DELETE = 1000                       # keys S3 takes in one DeleteObjects
OVERRIDES = {"response-content-type": "Content-Type", "response-content-language":
             "Content-Language", "response-expires": "Expires", "response-cache-control":
             "Cache-Control", "response-content-disposition": "Content-Disposition",
             "response-content-encoding": "Content-Encoding"}
PASSED_BACK = ("content-length", "content-range", "last-modified", "content-encoding",
               "content-disposition", "content-language", "cache-control", "expires")
DATE_CONDITIONS = ("if-modified-since", "if-unmodified-since")


# -- headers ---------------------------------------------------------------------------------


def swift_headers(headers: Any) -> dict[str, str]:
    """The Swift headers an upload's S3 headers ask for (content type, encoding, disposition,
    user metadata, Content-MD5 as the ETag the servers check); 501 for what is not served."""
    if headers.get("x-amz-storage-class", "STANDARD") != "STANDARD":
        raise S3Error("InvalidStorageClass", StorageClassRequested=headers["x-amz-storage-class"])
    acl = headers.get("x-amz-acl")
    if acl not in (None, "private"):
        raise not_implemented(f"The canned ACL {acl!r}")
    for name, what in (("x-amz-server-side-encryption", "Server-side encryption"),
                       ("x-amz-server-side-encryption-customer-algorithm", "Server-side "
                        "encryption"), ("x-amz-tagging", "Object tagging"),
                       ("x-amz-website-redirect-location", "Website redirects"),
                       ("x-amz-object-lock-mode", "Object lock")):
        if name in headers:
            raise not_implemented(what)
    out = {}
    for name in ("content-type", "content-disposition"):
        if name in headers:
            out[name] = headers[name]
    encoding = payload.stored_encoding(headers)
    if encoding:
        out["content-encoding"] = encoding
    for name, value in headers.items():
        if name.lower().startswith("x-amz-meta-"):
            out["x-object-meta-" + name[len("x-amz-meta-"):].lower()] = value
    md5 = payload.content_md5(headers)
    if md5:
        out["etag"] = md5
    return out


def split_content_type(value: str) -> tuple[str, dict[str, str]]:
    """The Content-Type without the parameter a multipart manifest records, and that."""
    kept, ours = [], {}
    for i, part in enumerate(value.split(";")):
        name, _, text = part.strip().partition("=")
        if i and name == "s3_etag":
            ours[name] = text
        else:
            kept.append(part)
    return ";".join(kept), ours


def s3_headers(swift: Any) -> dict[str, str]:
    """An S3 answer's headers from a Swift answer's."""
    out = {"Accept-Ranges": "bytes"}
    content_type, ours = split_content_type(swift.get("content-type", ""))
    if content_type:
        out["Content-Type"] = content_type
    etag = ours.get("s3_etag") or swift.get("etag", "").strip('"')
    if etag:
        out["ETag"] = f'"{etag}"'
    for name in PASSED_BACK:
        if name in swift:
            out[name.title()] = swift[name]
    for name, value in swift.items():
        if name.lower().startswith("x-object-meta-"):
            out["x-amz-meta-" + name[len("x-object-meta-"):].lower()] = value
    return out


def check_etag_conditions(headers: Any, etag: str, prefix: str = "if-") -> int | None:
    """S3's reading of If-Match / If-None-Match against the object's S3 ETag: 412, 304 or None
    (go on)."""
    def listed(value: str) -> bool:
        tags = [t.strip().strip('"') for t in value.split(",")]
        return "*" in tags or etag.strip('"') in tags

    match, none_match = headers.get(prefix + "match"), headers.get(prefix + "none-match")
    if match is not None and not listed(match):
        return 412
    if none_match is not None and listed(none_match):
        return 304
    return None


# -- segments of multipart objects -----------------------------------------------------------


def made_by_upload(content_type: str) -> bool:
    return "s3_etag" in split_content_type(content_type)[1]


async def upload_parts(req: Any, bucket: str, key: str) -> list[str]:
    """The parts (names in ``<bucket>+segments``) of the object at ``key`` when a multipart
    upload made it; [] for another object or none."""
    try:
        head = await req.swift.head_object(bucket, key, query={"multipart-manifest": "get"})
    except S3Error as err:
        if err.code in ("NoSuchKey", "NoSuchBucket"):
            return []
        raise
    if head.headers.get(SLO, "").lower() != "true" or \
            not made_by_upload(head.headers.get("content-type", "")):
        return []
    resp = await req.swift.call(obj.get, "GET", bucket, key, query={"multipart-manifest": "get"},
                                bucket=bucket, key=key)
    if isinstance(resp, StreamingResponse):        # replaced by a plain object meanwhile
        if resp.background is not None:
            await resp.background()
        return []
    inside = f"/{bucket}{SEGMENTS}/"
    try:
        names = [e["name"] for e in json.loads(resp.body) if "name" in e]
    except (ValueError, TypeError):
        return []
    return [n[len(inside):] for n in names if n.startswith(inside)]


async def delete_segments(req: Any, bucket: str, names: list[str]) -> None:
    for name in names:
        await delete_one(req, bucket + SEGMENTS, name)


async def delete_one(req: Any, bucket: str, key: str) -> None:
    """DELETE of one object; a missing one is no error (S3's)."""
    try:
        await req.swift.call(obj.delete, "DELETE", bucket, key, bucket=bucket, key=key)
    except S3Error as err:
        if err.code != "NoSuchKey":
            raise


# -- operations --------------------------------------------------------------------------------


async def store(req: Any, bucket: str, key: str, headers: dict[str, str], length: int,
                body: Any, query: dict[str, str] | None = None) -> Response:
    """PUT of an object through the proxy; the parts of a multipart object it replaces are
    removed after."""
    old = await upload_parts(req, bucket, key)
    resp = await req.swift.call(obj.put, "PUT", bucket, key, query=query,
                                headers={**headers, "content-length": str(length)}, body=body,
                                bucket=bucket, key=key)
    await delete_segments(req, bucket, old)
    return resp


async def put(req: Any) -> Response:
    if "x-amz-copy-source" in req.headers:
        raise S3Error("InvalidRequest", "x-amz-copy-source is for CopyObject.")
    headers = swift_headers(req.headers)
    length = payload.object_length(req)
    try:
        resp = await store(req, req.bucket, req.key, headers, length, payload.body(req))
    except S3Error as err:
        raise await req.swift.missing_key_or_bucket(err, req.bucket) from None
    return Response(b"", 200, headers={"ETag": f'"{resp.headers.get("etag", "")}"'})


async def _read(req: Any, method: str) -> Response:
    """GET or HEAD of the object, S3's conditions judged against its S3 ETag."""
    swift, conditions = req.swift, {}
    if "if-match" in req.headers or "if-none-match" in req.headers:
        head = await _head_or_missing(req)
        status = check_etag_conditions(req.headers, s3_headers(head.headers).get("ETag", ""))
        if status == 412:
            raise S3Error("PreconditionFailed", Condition="If-Match")
        if status == 304:
            return Response(b"", 304, headers=_not_modified(s3_headers(head.headers)))
    for name in ("range", *DATE_CONDITIONS):
        if name in req.headers:
            conditions[name] = req.headers[name]
    fn = obj.get if method == "GET" else obj.head
    try:
        resp = await swift.call(fn, method, req.bucket, req.key, headers=conditions,
                                bucket=req.bucket, key=req.key)
    except S3Error as err:
        raise await swift.missing_key_or_bucket(err, req.bucket) from None
    headers = s3_headers(resp.headers)
    for name, header in OVERRIDES.items():
        if name in req.query:
            headers[header] = req.query[name]
    if resp.status_code == 304:
        return Response(b"", 304, headers=_not_modified(headers))
    if resp.status_code == 412:
        raise S3Error("PreconditionFailed", Condition="If-Unmodified-Since")
    if resp.status_code == 416:
        raise S3Error("InvalidRange")
    if isinstance(resp, StreamingResponse):
        return StreamingResponse(resp.body_iterator, resp.status_code, headers=headers,
                                 background=resp.background)
    return Response(b"", resp.status_code, headers=headers)


def _not_modified(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}


async def _head_or_missing(req: Any) -> Response:
    try:
        return await req.swift.head_object(req.bucket, req.key)
    except S3Error as err:
        raise await req.swift.missing_key_or_bucket(err, req.bucket) from None


async def get(req: Any) -> Response:
    return await _read(req, "GET")


async def head(req: Any) -> Response:
    return await _read(req, "HEAD")


async def delete(req: Any) -> Response:
    await req.swift.head_container(req.bucket)
    await remove(req, req.bucket, req.key)
    return Response(b"", 204)


async def remove(req: Any, bucket: str, key: str) -> None:
    """The object and, for a multipart one, its parts."""
    parts = await upload_parts(req, bucket, key)
    await delete_one(req, bucket, key)
    await delete_segments(req, bucket, parts)


def copy_source(value: str) -> tuple[str, str]:
    path, _, version = value.partition("?")
    if version and version != "versionId=null":
        raise not_implemented("Copying a version of an object")
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: "
                                         "sourcebucket/sourcekey", ArgumentName="x-amz-copy-source")
    return bucket, key


async def copy(req: Any) -> Response:
    """CopyObject: the source (of the caller's account) streamed into the destination, with its
    metadata (``x-amz-metadata-directive: COPY``, the default) or the request's (``REPLACE``)."""
    src_bucket, src_key = copy_source(req.headers["x-amz-copy-source"])
    directive = req.headers.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.",
                      ArgumentName="x-amz-metadata-directive", ArgumentValue=directive)
    if (src_bucket, src_key) == (req.bucket, req.key) and directive == "COPY":
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to "
                                        "copy an object to itself without changing the object's "
                                        "metadata, storage class, website redirect location or "
                                        "encryption attributes.")
    swift = req.swift
    await swift.head_container(req.bucket)
    try:
        source_head = await swift.head_object(src_bucket, src_key)
    except S3Error as err:
        raise await swift.missing_key_or_bucket(err, src_bucket) from None
    source_headers = s3_headers(source_head.headers)
    if check_etag_conditions(req.headers, source_headers.get("ETag", ""),
                             "x-amz-copy-source-if-") is not None:
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-Match")
    dates = {name: req.headers["x-amz-copy-source-" + name] for name in DATE_CONDITIONS
             if "x-amz-copy-source-" + name in req.headers}
    source = await swift.call(obj.get, "GET", src_bucket, src_key, headers=dates,
                              bucket=src_bucket, key=src_key)
    if source.status_code != 200 or not isinstance(source, StreamingResponse):
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-Modified-Since")
    try:
        if directive == "REPLACE":
            headers = swift_headers(req.headers)
        else:
            headers = {k.lower(): v for k, v in source_head.headers.items()
                       if k.lower().startswith("x-object-meta-")
                       or k.lower() in ("content-encoding", "content-disposition")}
            headers["content-type"] = source_headers.get("Content-Type",
                                                         "application/octet-stream")
        length = int(source.headers.get("content-length", "0"))
        resp = await store(req, req.bucket, req.key, headers, length, source.body_iterator)
    finally:
        if source.background is not None:
            await source.background()
    return xml_response("CopyObjectResult", [
        ("LastModified", _iso(resp.headers.get("last-modified", ""))),
        ("ETag", f'"{resp.headers.get("etag", "")}"')])


def _iso(http_date: str) -> str:
    try:
        return parsedate_to_datetime(http_date).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    except (TypeError, ValueError):
        return ""


async def delete_objects(req: Any) -> Response:
    """DeleteObjects: each key of the document deleted; a missing key counts as deleted."""
    await req.swift.head_container(req.bucket)
    doc = documents.parse(await payload.small_body(req), "Delete")
    quiet = (documents.text(doc, "Quiet") or "").lower() == "true"
    keys = [documents.text(o, "Key") for o in doc.findall("Object")]
    if not keys or len(keys) > MAX_DELETE or any(not k for k in keys):
        raise S3Error("MalformedXML", f"A Delete document names 1 to {MAX_DELETE} objects, each "
                                      "with a Key.")
    items = []
    for key in keys:
        try:
            await remove(req, req.bucket, key)
        except S3Error as err:
            items.append(("Error", [("Key", key), ("Code", err.code), ("Message", err.message)]))
            continue
        if not quiet:
            items.append(("Deleted", [("Key", key)]))
    return xml_response("DeleteResult", items)
