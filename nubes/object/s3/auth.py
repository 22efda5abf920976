"""Reading an S3 request's signature: which access key signed it, with what signature, over
which string to sign (AWS signature version 4 and version 2, in the Authorization header or in
the query of a presigned URL).

The proxy holds no secret: as Swift's s3api with s3token, it builds the string to sign from the
request and identity (``POST /v3/s3tokens``) computes the signature with the secret and compares.
The request's time is judged here: a header-signed request more than 15 minutes off this host's
clock is ``RequestTimeTooSkewed``, a presigned URL past its expiry ``AccessDenied``."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from nubes.object.s3.errors import S3Error, not_implemented

V4 = "AWS4-HMAC-SHA256"
SKEW = timedelta(minutes=15)             # S3's allowed difference between request and clock
MAX_PRESIGNED = 7 * 24 * 3600            # S3's longest X-Amz-Expires (seconds)
UNSIGNED = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
# The query parameters a version 2 signature covers (S3's sub-resources and response overrides).
V2_SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "delete", "inventory", "lifecycle", "location",
    "logging", "metrics", "notification", "object-lock", "partNumber", "policy", "replication",
    "requestPayment", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-content-type",
    "response-expires", "restore", "select", "select-type", "storageClass", "tagging", "torrent",
    "uploadId", "uploads", "versionId", "versioning", "versions", "website"})
_SPACES = re.compile(r"\s+")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Signed:
    """What identity is asked to judge, and what the proxy must still check of the body."""

    access: str
    signature: str
    string_to_sign: bytes
    version: int
    payload: str = UNSIGNED          # v4: the x-amz-content-sha256 the signature covers
    date: str = ""                   # v4: the request's date (ISO 8601 basic) ...
    scope: str = ""                  # ... and its scope, date/region/s3/aws4_request


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """The query's (name, value) pairs, percent-decoded, in order (``a`` alone is ``("a", "")``)."""
    pairs = []
    for item in raw_query.split("&"):
        if item:
            name, _, value = item.partition("=")
            pairs.append((unquote(name), unquote(value)))
    return pairs


def is_s3(headers: dict[str, str], query: dict[str, str]) -> bool:
    """Whether the request carries an S3 signature (header or presigned query)."""
    auth = headers.get("authorization", "")
    return (auth.startswith((V4 + " ", "AWS ")) or "X-Amz-Algorithm" in query
            or ("AWSAccessKeyId" in query and "Signature" in query))


def parse(method: str, raw_path: str, raw_query: str, headers: dict[str, str], location: str,
          now: datetime | None = None, host_bucket: str | None = None) -> Signed:
    """The request's signature and string to sign; S3's errors for a malformed or stale one.
    ``headers`` has lower-case names, values of repeated headers joined with ``,``;
    ``host_bucket`` is the bucket a virtual-host style request names in its Host (a version 2
    signature covers ``/<bucket><path>``)."""
    now = now or datetime.now(UTC)
    pairs = query_pairs(raw_query)
    query = dict(pairs)
    auth = headers.get("authorization", "")
    if auth.startswith(V4 + " "):
        return _v4_header(method, raw_path, pairs, headers, auth, location, now)
    if query.get("X-Amz-Algorithm") and not auth.startswith("AWS "):
        return _v4_query(method, raw_path, pairs, headers, location, now)
    resource = f"/{host_bucket}{raw_path}" if host_bucket else raw_path
    if auth.startswith("AWS "):
        return _v2_header(method, resource, pairs, headers, auth, now)
    return _v2_query(method, resource, pairs, headers, now)


# -- version 4 ---------------------------------------------------------------------------------


def _uri_encode(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((_uri_encode(k), _uri_encode(v)) for k, v in pairs if k != "X-Amz-Signature")
    return "&".join(f"{k}={v}" for k, v in encoded)


def _scope(credential: str, location: str, malformed: str) -> tuple[str, str]:
    """(access key, ``date/region/s3/aws4_request``) of a ``Credential`` value."""
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0] or parts[4] != "aws4_request" or parts[3] != "s3":
        raise S3Error(malformed, "The credential is malformed; expecting "
                                 "\"<YOUR-AKID>/YYYYMMDD/REGION/s3/aws4_request\".")
    if parts[2] != location:
        raise S3Error(malformed, f"The authorization header is malformed; the region "
                                 f"'{parts[2]}' is wrong; expecting '{location}'", Region=location)
    return parts[0], "/".join(parts[1:])


def _amz_date(text: str, malformed: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise S3Error(malformed, f"X-Amz-Date must be in the ISO8601 Long Format "
                                 f"\"yyyyMMdd'T'HHmmss'Z'\", not {text!r}.") from None


def _canonical_headers(signed: list[str], headers: dict[str, str], malformed: str) -> str:
    if "host" not in signed:
        raise S3Error(malformed, "The host header must be signed.")
    lines = []
    for name in signed:
        if name not in headers:
            raise S3Error("AccessDenied", f"The header {name} is signed but not sent.")
        lines.append(f"{name}:{_SPACES.sub(' ', headers[name].strip())}\n")
    return "".join(lines)


def string_to_sign_v4(method: str, raw_path: str, pairs: list[tuple[str, str]],
                      headers: dict[str, str], signed: list[str], payload: str, amz_date: str,
                      scope: str, malformed: str = "AuthorizationHeaderMalformed") -> bytes:
    canonical = "\n".join((method, raw_path or "/", canonical_query(pairs),
                           _canonical_headers(signed, headers, malformed), ";".join(signed),
                           payload))
    return "\n".join((V4, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest())).encode()


def _v4_header(method: str, raw_path: str, pairs: list[tuple[str, str]], headers: dict[str, str],
               auth: str, location: str, now: datetime) -> Signed:
    malformed = "AuthorizationHeaderMalformed"
    fields = {}
    for part in auth[len(V4):].split(","):
        key, _, value = part.strip().partition("=")
        fields[key] = value.strip()
    if not all(fields.get(k) for k in ("Credential", "SignedHeaders", "Signature")):
        raise S3Error(malformed, "The authorization header is malformed: it needs Credential, "
                                 "SignedHeaders and Signature.")
    access, scope = _scope(fields["Credential"], location, malformed)
    stamp = headers.get("x-amz-date", "")
    if stamp:
        when = _amz_date(stamp, malformed)
    else:                       # the Date header may stand in for x-amz-date
        when = _http_date(headers.get("date", ""))
        stamp = when.strftime("%Y%m%dT%H%M%SZ")
    if not stamp.startswith(scope.split("/")[0]):
        raise S3Error(malformed, "The date of the credential scope is not the request's date.")
    _check_skew(when, now)
    payload = headers.get("x-amz-content-sha256", "")
    if not payload:
        raise S3Error("InvalidRequest", "Missing required header for this request: "
                                        "x-amz-content-sha256")
    if payload == STREAMING_SIGNED + "-TRAILER":
        raise not_implemented("Chunk-signed uploads with trailing headers "
                              "(STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)")
    if payload not in (UNSIGNED, STREAMING_SIGNED, STREAMING_UNSIGNED) and \
            not _HEX64.fullmatch(payload):
        raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                                         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                                         "STREAMING-UNSIGNED-PAYLOAD-TRAILER or a SHA-256 in hex.")
    signed = fields["SignedHeaders"].lower().split(";")
    sts = string_to_sign_v4(method, raw_path, pairs, headers, signed, payload, stamp, scope)
    return Signed(access, fields["Signature"], sts, 4, payload, stamp, scope)


def _v4_query(method: str, raw_path: str, pairs: list[tuple[str, str]], headers: dict[str, str],
              location: str, now: datetime) -> Signed:
    malformed = "AuthorizationQueryParametersError"
    query = dict(pairs)
    if query.get("X-Amz-Algorithm") != V4:
        raise S3Error(malformed, "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".")
    needed = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
              "X-Amz-Signature")
    missing = [k for k in needed if not query.get(k)]
    if missing:
        raise S3Error(malformed, "Query-string authentication version 4 requires the "
                                 + ", ".join(needed) + " parameters.")
    access, scope = _scope(query["X-Amz-Credential"], location, malformed)
    stamp = query["X-Amz-Date"]
    when = _amz_date(stamp, malformed)
    if not stamp.startswith(scope.split("/")[0]):
        raise S3Error(malformed, "The date of the credential scope is not X-Amz-Date's.")
    expires = query["X-Amz-Expires"]
    if not expires.isdigit() or not 0 < int(expires) <= MAX_PRESIGNED:
        raise S3Error(malformed, "X-Amz-Expires must be a number of seconds from 1 to "
                                 f"{MAX_PRESIGNED}.")
    if now > when + timedelta(seconds=int(expires)):
        raise S3Error("AccessDenied", "Request has expired", Expires=(
            when + timedelta(seconds=int(expires))).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if when > now + SKEW:
        raise S3Error("AccessDenied", "Request is not valid yet")
    payload = headers.get("x-amz-content-sha256") or UNSIGNED
    signed = query["X-Amz-SignedHeaders"].lower().split(";")
    sts = string_to_sign_v4(method, raw_path, pairs, headers, signed, payload, stamp, scope,
                            malformed)
    return Signed(access, query["X-Amz-Signature"], sts, 4, payload, stamp, scope)


def signing_key(secret: str, scope: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def chunk_signature(key: bytes, signed: Signed, previous: str, data: bytes) -> str:
    """The signature of one chunk of a ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD`` body: it chains
    the previous chunk's (the request's for the first)."""
    text = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", signed.date, signed.scope, previous,
                      EMPTY_SHA256, hashlib.sha256(data).hexdigest()))
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


# -- version 2 ---------------------------------------------------------------------------------


def _http_date(text: str) -> datetime:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or x-amz-date "
                                      "header") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_skew(when: datetime, now: datetime) -> None:
    if abs(now - when) > SKEW:
        raise S3Error("RequestTimeTooSkewed", RequestTime=when.strftime("%Y%m%dT%H%M%SZ"),
                      ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"), MaxAllowedSkewMilliseconds=900000)


def canonical_resource(raw_path: str, pairs: list[tuple[str, str]]) -> str:
    if raw_path.count("/") == 1 and raw_path != "/":
        raw_path += "/"             # S3's resource of a bucket is /<bucket>/
    subs = sorted((k, v) for k, v in pairs if k in V2_SUBRESOURCES)
    if not subs:
        return raw_path
    return raw_path + "?" + "&".join(f"{k}={v}" if v else k for k, v in subs)


def string_to_sign_v2(method: str, raw_path: str, pairs: list[tuple[str, str]],
                      headers: dict[str, str], date: str) -> bytes:
    amz = sorted((k, _SPACES.sub(" ", v.strip())) for k, v in headers.items()
                 if k.startswith("x-amz-"))
    lines = [method, headers.get("content-md5", ""), headers.get("content-type", ""), date,
             *(f"{k}:{v}" for k, v in amz), canonical_resource(raw_path or "/", pairs)]
    return "\n".join(lines).encode()


def _v2_header(method: str, raw_path: str, pairs: list[tuple[str, str]], headers: dict[str, str],
               auth: str, now: datetime) -> Signed:
    access, sep, signature = auth[4:].strip().rpartition(":")
    if not sep or not access or not signature:
        raise S3Error("InvalidArgument", "AWS authorization header is invalid.  Expected "
                                         "AwsAccessKeyId:signature")
    stamp = headers.get("x-amz-date") or headers.get("date", "")
    _check_skew(_http_date(stamp), now)
    date = "" if "x-amz-date" in headers else headers.get("date", "")
    return Signed(access, signature, string_to_sign_v2(method, raw_path, pairs, headers, date), 2)


def _v2_query(method: str, raw_path: str, pairs: list[tuple[str, str]], headers: dict[str, str],
              now: datetime) -> Signed:
    query = dict(pairs)
    expires = query.get("Expires", "")
    if not expires.isdigit():
        raise S3Error("AccessDenied", "Query-string authentication requires the Signature, "
                                      "Expires and AWSAccessKeyId parameters")
    if now.timestamp() > int(expires):
        raise S3Error("AccessDenied", "Request has expired",
                      Expires=datetime.fromtimestamp(int(expires), UTC).strftime(
                          "%Y-%m-%dT%H:%M:%SZ"))
    sts = string_to_sign_v2(method, raw_path, pairs, headers, expires)
    return Signed(query["AWSAccessKeyId"], query["Signature"], sts, 2)
