"""THE route table of the S3 API: an operation for each (method, level, sub-resource), level
being the service (``/``), a bucket (``/<bucket>``) or an object (``/<bucket>/<key>``), path-style.

A sub-resource this cloud does not serve (ACLs, policies, versioning, lifecycle ...) answers
501 NotImplemented; a method the level has not, 405 MethodNotAllowed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response

from nubes.object.s3 import buckets, multipart, objects
from nubes.object.s3.errors import S3Error, not_implemented

Handler = Callable[[Any], Awaitable[Response]]

# Sub-resources of S3 that this cloud does not serve, by level.
BUCKET_UNSERVED = ("accelerate", "acl", "analytics", "cors", "encryption", "intelligent-tiering",
                   "inventory", "lifecycle", "logging", "metrics", "notification", "object-lock",
                   "ownershipControls", "policy", "policyStatus", "publicAccessBlock",
                   "replication", "requestPayment", "tagging", "versioning", "versions", "website")
OBJECT_UNSERVED = ("acl", "attributes", "legal-hold", "restore", "retention", "select", "tagging",
                   "torrent")


@dataclass
class Route:
    method: str
    level: str                              # "service", "bucket" or "object"
    handler: Handler
    needs: tuple[str, ...] = ()             # query parameters that choose this operation
    headers: tuple[str, ...] = field(default=())   # ... or request headers


TABLE = [
    Route("GET", "service", buckets.list_buckets),
    Route("GET", "bucket", buckets.get_location, ("location",)),
    Route("GET", "bucket", multipart.list_uploads, ("uploads",)),
    Route("GET", "bucket", buckets.list_objects),
    Route("PUT", "bucket", buckets.create),
    Route("HEAD", "bucket", buckets.head),
    Route("DELETE", "bucket", buckets.delete),
    Route("POST", "bucket", objects.delete_objects, ("delete",)),
    Route("POST", "object", multipart.create, ("uploads",)),
    Route("POST", "object", multipart.complete, ("uploadId",)),
    Route("PUT", "object", multipart.upload_part, ("partNumber", "uploadId")),
    Route("GET", "object", multipart.list_parts, ("uploadId",)),
    Route("DELETE", "object", multipart.abort, ("uploadId",)),
    Route("PUT", "object", objects.copy, headers=("x-amz-copy-source",)),
    Route("PUT", "object", objects.put),
    Route("GET", "object", objects.get),
    Route("HEAD", "object", objects.head),
    Route("DELETE", "object", objects.delete),
]


def level(bucket: str | None, key: str | None) -> str:
    return "service" if not bucket else "object" if key else "bucket"


def route(method: str, bucket: str | None, key: str | None, query: dict[str, str],
          headers: Any) -> Handler:
    where = level(bucket, key)
    unserved = {"bucket": BUCKET_UNSERVED, "object": OBJECT_UNSERVED}.get(where, ())
    for name in unserved:
        if name in query:
            raise not_implemented(f"The {name} sub-resource")
    if "versionId" in query and query["versionId"] != "null":
        raise not_implemented("Object versioning")
    known = False
    for r in TABLE:
        if r.level != where:
            continue
        known = True
        if r.method != method:
            continue
        if all(n in query for n in r.needs) and all(h in headers for h in r.headers):
            return r.handler
    if not known:
        raise S3Error("MethodNotAllowed")
    raise S3Error("MethodNotAllowed", f"The method {method} is not allowed against this "
                                      "resource.", Method=method, ResourceType=where.upper())
