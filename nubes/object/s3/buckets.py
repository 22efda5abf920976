"""Buckets: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation and the
object listings (ListObjects, ListObjectsV2). A bucket is a container of the caller's account
(``AUTH_<project_id>``); its multipart uploads keep their parts in ``<bucket>+segments``, a
container no S3 bucket name can clash with (``+`` is not allowed in them)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any
from urllib.parse import quote

from starlette.responses import Response

from nubes.object.proxy import container
from nubes.object.s3 import documents, payload
from nubes.object.s3.documents import Tree, xml_response
from nubes.object.s3.errors import S3Error, not_implemented

MAX_KEYS = 1000                     # S3's largest page of a listing
_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d+\.\d+\.\d+\.\d+")
SEGMENTS = "+segments"


def segments_container(bucket: str) -> str:
    return bucket + SEGMENTS


def check_name(bucket: str) -> None:
    """S3's rules for a bucket name (those for DNS names, as Swift's s3api applies them)."""
    if not _NAME.fullmatch(bucket) or ".." in bucket or ".-" in bucket or "-." in bucket \
            or _IP.fullmatch(bucket):
        raise S3Error("InvalidBucketName", BucketName=bucket)


def iso_time(last_modified: str) -> str:
    """A Swift listing's ``2024-05-01T12:00:00.123456`` as S3's ``2024-05-01T12:00:00.123Z``."""
    return last_modified[:23] + "Z" if last_modified else ""


def owner(req: Any) -> Tree:
    ctx = req.swift.ctx
    return [("ID", ctx.project_id), ("DisplayName", ctx.project_name or ctx.project_id)]


async def list_buckets(req: Any) -> Response:
    containers = await req.swift.list_containers()
    buckets = [("Bucket", [("Name", c["name"]), ("CreationDate", iso_time(c.get("last_modified",
                                                                                  "")))])
               for c in containers if not c["name"].endswith(SEGMENTS)]
    return xml_response("ListAllMyBucketsResult", [("Owner", owner(req)), ("Buckets", buckets)])


async def create(req: Any) -> Response:
    check_name(req.bucket)
    acl = req.headers.get("x-amz-acl")
    if acl not in (None, "private"):
        raise not_implemented(f"The canned ACL {acl!r}")
    body = await payload.small_body(req)
    if body.strip():
        config = documents.parse(body, "CreateBucketConfiguration")
        constraint = documents.text(config, "LocationConstraint")
        if constraint and constraint != req.location:
            raise S3Error("InvalidLocationConstraint", f"The specified location-constraint "
                                                       f"{constraint!r} is not valid; this cloud "
                                                       f"has {req.location!r}.")
    resp = await req.swift.call(container.put, "PUT", req.bucket, bucket=req.bucket)
    if resp.status_code == 202:
        raise S3Error("BucketAlreadyOwnedByYou", BucketName=req.bucket)
    return Response(b"", 200, headers={"Location": "/" + req.bucket})


async def head(req: Any) -> Response:
    await req.swift.head_container(req.bucket)
    return Response(b"", 200, headers={"x-amz-bucket-region": req.location})


async def delete(req: Any) -> Response:
    """The bucket, once it has no object and no upload in progress; then its segments
    container."""
    swift = req.swift
    await swift.head_container(req.bucket)
    segments = segments_container(req.bucket)
    if await swift.exists(segments) and await swift.list_objects(segments, limit="1"):
        raise S3Error("BucketNotEmpty", "The bucket has multipart uploads in progress (or parts "
                                        "left by objects removed through the Swift API); abort "
                                        "them first.", BucketName=req.bucket)
    await swift.call(container.delete, "DELETE", req.bucket, bucket=req.bucket)
    try:
        await swift.call(container.delete, "DELETE", segments, bucket=segments)
    except S3Error as err:
        if err.code != "NoSuchBucket":
            raise
    return Response(b"", 204)


async def get_location(req: Any) -> Response:
    await req.swift.head_container(req.bucket)
    # S3 names its first region by an empty constraint.
    text = "" if req.location == "us-east-1" else req.location
    return xml_response("LocationConstraint", text)


# -- listings -------------------------------------------------------------------------------


def _max(query: dict[str, str], name: str, top: int = MAX_KEYS) -> int:
    value = query.get(name, str(top))
    if not value.isdigit():
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer "
                                         "range", ArgumentName=name, ArgumentValue=value)
    return min(int(value), top)


def _encoder(query: dict[str, str]) -> Any:
    kind = query.get("encoding-type")
    if kind is None:
        return lambda text: text
    if kind != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=kind)
    return lambda text: quote(text, safe="/") if text else text


def s3_etag(entry: dict[str, Any]) -> str:
    """The object's S3 ETag from a listing entry: a completed multipart upload's manifest
    records it as a parameter of its Content-Type (multipart.py)."""
    for param in entry.get("content_type", "").split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name == "s3_etag" and value:
            return value
    return entry.get("hash", "")


def _swift_marker(marker: str, delimiter: str) -> str:
    # After a common prefix, the next page starts past every key under it.
    if delimiter and marker.endswith(delimiter):
        return marker[:-1] + chr(ord(delimiter) + 1)
    return marker


async def _page(req: Any, marker: str, max_keys: int) -> tuple[list[dict[str, Any]], bool]:
    query = req.query
    delimiter = query.get("delimiter", "")
    if len(delimiter) > 1:
        raise not_implemented("A delimiter of more than one character")
    if max_keys == 0:
        await req.swift.head_container(req.bucket)
        return [], False
    entries = await req.swift.list_objects(
        req.bucket, prefix=query.get("prefix", ""), delimiter=delimiter,
        marker=_swift_marker(marker, delimiter), limit=str(max_keys + 1))
    return entries[:max_keys], len(entries) > max_keys


def _contents(req: Any, entries: list[dict[str, Any]], encode: Any, with_owner: bool) -> Tree:
    items: Tree = []
    for e in entries:
        if "subdir" in e:
            continue
        items.append(("Contents", [("Key", encode(e["name"])),
                                   ("LastModified", iso_time(e.get("last_modified", ""))),
                                   ("ETag", f'"{s3_etag(e)}"'), ("Size", int(e.get("bytes", 0))),
                                   ("Owner", owner(req) if with_owner else None),
                                   ("StorageClass", "STANDARD")]))
    items.extend(("CommonPrefixes", [("Prefix", encode(e["subdir"]))]) for e in entries
                 if "subdir" in e)
    return items


def _last(entries: list[dict[str, Any]]) -> str:
    return entries[-1].get("subdir") or entries[-1].get("name", "") if entries else ""


async def list_objects(req: Any) -> Response:
    if req.query.get("list-type") == "2":
        return await _list_v2(req)
    if "list-type" in req.query:
        raise S3Error("InvalidArgument", "Invalid list-type.", ArgumentName="list-type")
    query, encode = req.query, _encoder(req.query)
    max_keys = _max(query, "max-keys")
    entries, truncated = await _page(req, query.get("marker", ""), max_keys)
    delimiter = query.get("delimiter")
    items: Tree = [("Name", req.bucket), ("Prefix", encode(query.get("prefix", ""))),
                   ("Marker", encode(query.get("marker", ""))),
                   ("NextMarker", encode(_last(entries)) if truncated and delimiter else None),
                   ("MaxKeys", max_keys), ("Delimiter", encode(delimiter) if delimiter else None),
                   ("EncodingType", query.get("encoding-type")), ("IsTruncated", truncated),
                   *_contents(req, entries, encode, True)]
    return xml_response("ListBucketResult", items)


def _token(value: str) -> str:
    try:
        return base64.b64decode(value.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token") from None


async def _list_v2(req: Any) -> Response:
    query, encode = req.query, _encoder(req.query)
    max_keys = _max(query, "max-keys")
    token = query.get("continuation-token")
    marker = _token(token) if token is not None else query.get("start-after", "")
    entries, truncated = await _page(req, marker, max_keys)
    delimiter = query.get("delimiter")
    fetch_owner = query.get("fetch-owner", "").lower() == "true"
    next_token = base64.urlsafe_b64encode(_last(entries).encode()).decode() if truncated else None
    items: Tree = [("Name", req.bucket), ("Prefix", encode(query.get("prefix", ""))),
                   ("Delimiter", encode(delimiter) if delimiter else None), ("MaxKeys", max_keys),
                   ("EncodingType", query.get("encoding-type")), ("KeyCount", len(entries)),
                   ("IsTruncated", truncated), ("ContinuationToken", token),
                   ("NextContinuationToken", next_token),
                   ("StartAfter", encode(query["start-after"]) if "start-after" in query else None),
                   *_contents(req, entries, encode, fetch_owner)]
    return xml_response("ListBucketResult", items)
