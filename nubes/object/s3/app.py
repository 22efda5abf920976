"""The S3 API in front of the proxy's Swift API: an ASGI layer that takes the requests S3
clients send (an ``AWS4-HMAC-SHA256`` or ``AWS`` Authorization header, a presigned query, a
bucket's host name, or any path outside Swift's ``/v1``, ``/info``, ``/healthcheck`` and
``/metrics``) and passes every other to the proxy's app.

For an S3 request it gives a request id (``x-amz-request-id``, also ``X-Trans-Id``), reads the
signature (``auth.py``), asks identity to judge it (``identity.py``), finds the operation
(``router.py``) and runs it as calls on the cluster's controllers (``swift.py``); every failure
is S3's XML error, and a fault of this code a 500 InternalError (logged), never a Swift page."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from nubes.core.context import new_request_id, reset_request_id, set_request_id
from nubes.core.exceptions import CloudError
from nubes.object.s3 import auth, identity, router
from nubes.object.s3.buckets import MAX_KEYS
from nubes.object.s3.multipart import MAX_PART_NUMBER, MIN_PART
from nubes.object.s3.objects import MAX_DELETE
from nubes.object.s3.errors import S3Error, response
from nubes.object.s3.swift import Swift

LOG = logging.getLogger(__name__)
SWIFT_PATHS = ("/v1/", "/info", "/healthcheck", "/metrics")


@dataclass
class S3Request:
    """One S3 request as the operations read it."""

    http: Request
    swift: Swift
    bucket: str | None
    key: str | None
    query: dict[str, str]
    signed: auth.Signed
    request_id: str
    location: str
    rt: Any = None

    @property
    def method(self) -> str:
        return self.http.method

    @property
    def headers(self) -> Any:
        return self.http.headers


def _headers(scope: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or []:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        out[key] = f"{out[key]},{text}" if key in out else text
    return out


def split_path(path: str) -> tuple[str | None, str | None]:
    """Path-style addressing: ``/<bucket>/<key>`` (the key keeps its slashes)."""
    bucket, _, key = path.lstrip("/").partition("/")
    return bucket or None, key or None


def host_bucket(headers: dict[str, str], domain: str) -> str | None:
    """The bucket of a virtual-host style request (``Host: <bucket>.<domain>``), when the S3
    API has a domain (``[object] s3_domain``, Swift s3api's ``storage_domain``)."""
    host = headers.get("host", "").lower().partition(":")[0].rstrip(".")
    if domain and host.endswith("." + domain) and len(host) > len(domain) + 1:
        return host[:-len(domain) - 1]
    return None


def wants_s3(scope: dict, domain: str = "") -> bool:
    """Whether the request is S3's: signed so, outside Swift's paths, or to a bucket's host
    name. Cheap for Swift's requests (one look at the headers and the query's bytes)."""
    path = scope.get("path", "")
    if not (path == "/v1" or path.startswith(SWIFT_PATHS)):
        return True
    if domain and host_bucket(_headers(scope), domain):
        return True
    query = scope.get("query_string", b"")
    if b"X-Amz-Algorithm" in query or b"AWSAccessKeyId" in query:
        return True
    for name, value in scope.get("headers") or []:
        if name.lower() == b"authorization":
            return value.startswith((b"AWS4-HMAC-SHA256 ", b"AWS "))
    return False


class _Body:
    """The request's ``receive``, noting whether the body was read to its end: a body left
    unread (a request refused before its upload) is read and dropped, up to DRAIN bytes, or the
    connection is closed after the answer; otherwise its bytes would be read as the next
    request on the connection."""

    DRAIN = 1024 * 1024

    def __init__(self, scope: dict, receive: Callable) -> None:
        headers = _headers(scope)
        self.receive = receive
        self.done = headers.get("content-length", "0") == "0" and \
            "transfer-encoding" not in headers

    async def __call__(self) -> dict:
        message = await self.receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.done = True
        return message

    async def drain(self) -> bool:
        """Whether the body is now read to its end."""
        left = self.DRAIN
        while not self.done and left > 0:
            left -= len((await self()).get("body", b""))
        return self.done


class S3Gateway:
    """The proxy's app with S3 in front of it."""

    def __init__(self, swift_app: Any, rt: Any, cluster: Callable[[], Any], location: str,
                 domain: str = "") -> None:
        self.swift_app, self.rt, self.cluster, self.location = swift_app, rt, cluster, location
        self.domain = domain.lower().strip(".")

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or not wants_s3(scope, self.domain):
            await self.swift_app(scope, receive, send)
            return
        request_id = new_request_id()
        rid_token = set_request_id(request_id)
        start = time.perf_counter()
        status, operation = [500], "s3:unmatched"
        ids = [(b"x-amz-request-id", request_id.encode()), (b"x-trans-id", request_id.encode()),
               (b"x-openstack-request-id", request_id.encode())]

        async def send_with_ids(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), *ids]
            await send(message)

        body = _Body(scope, receive)
        http = Request(scope, body)
        try:
            answer, operation = await self._handle(http, request_id)
            if not await body.drain():
                ids.append((b"connection", b"close"))
        finally:
            reset_request_id(rid_token)
        try:
            await answer(scope, body, send_with_ids)
        finally:
            metrics = getattr(self.swift_app, "metrics", None)
            if metrics is not None:
                metrics.observe(scope["method"], operation, status[0], time.perf_counter() - start)

    async def _handle(self, http: Request, request_id: str) -> tuple[Response, str]:
        scope = http.scope
        raw_path = (scope.get("raw_path") or quote(scope["path"]).encode()).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        headers = _headers(scope)
        in_host = host_bucket(headers, self.domain)
        if in_host:
            bucket, key = in_host, scope["path"].lstrip("/") or None
        else:
            bucket, key = split_path(scope["path"])
        head = scope["method"] == "HEAD"
        resource = f"/{in_host}{scope['path']}" if in_host else scope["path"]
        operation = "s3:unmatched"
        try:
            if "\0" in scope["path"]:
                raise S3Error("InvalidArgument", "No bucket or key holds a NUL character (%00).")
            query = dict(auth.query_pairs(raw_query))
            if not auth.is_s3(headers, query):
                raise S3Error("AccessDenied", "Anonymous access is not supported: sign the "
                                              "request with an EC2 credential.")
            signed = auth.parse(scope["method"], raw_path, raw_query, headers, self.location,
                                host_bucket=in_host)
            ctx = await identity.authenticate(self.rt, signed)
            handler = router.route(scope["method"], bucket, key, query, headers)
            operation = f"s3:{handler.__module__.rsplit('.', 1)[-1]}.{handler.__name__}"
            ctx.request_id, ctx.enforcer = request_id, self.rt.enforcer
            req = S3Request(http, Swift(self.cluster(), ctx), bucket, key, query, signed,
                            request_id, self.location, self.rt)
            answer = await handler(req)
        except S3Error as err:
            if err.status >= 500 and err.code != "NotImplemented":
                LOG.warning("S3 %s %s: %s", scope["method"], scope["path"], err)
            answer = response(err, resource, request_id, head)
        except CloudError as exc:
            answer = response(_from_cloud_error(exc), resource, request_id, head)
        except ClientDisconnect:
            answer = response(S3Error("IncompleteBody"), resource, request_id, head)
        except Exception:
            LOG.exception("S3 %s %s failed", scope["method"], scope["path"])
            answer = response(S3Error("InternalError"), resource, request_id, head)
        return answer, operation


def info() -> dict[str, Any]:
    """What ``GET /info`` tells of the S3 API under ``s3api`` (Swift's s3api keys)."""
    return {"max_bucket_listing": MAX_KEYS, "max_parts_listing": MAX_KEYS,
            "max_upload_part_num": MAX_PART_NUMBER, "max_multi_delete_objects": MAX_DELETE,
            "allow_multipart_uploads": True, "min_segment_size": MIN_PART, "s3_acl": False}


def _from_cloud_error(exc: CloudError) -> S3Error:
    """The core's errors (a policy refusal, identity out of reach) in S3's words."""
    if exc.status in (401, 403):
        return S3Error("AccessDenied")
    if exc.status == 501:
        return S3Error("NotImplemented", exc.message)
    if exc.status < 500:
        return S3Error("InvalidRequest", exc.message)
    LOG.warning("S3 request failed: %s", exc.message)
    return S3Error("ServiceUnavailable", exc.message)
