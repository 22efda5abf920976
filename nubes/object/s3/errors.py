"""S3's errors: a status and an XML body ``<Error><Code/><Message/><Resource/><RequestId/></Error>``.

The codes and their statuses are Amazon's (the S3 API reference's "Error responses"); a Swift
answer a subrequest gave is turned into the code S3 has for that case (``from_swift``)."""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from starlette.responses import Response

from nubes.object.proxy.errors import SwiftError

# code -> (status, S3's sentence)
CODES: dict[str, tuple[int, str]] = {
    "AccessDenied": (403, "Access Denied."),
    "AuthorizationHeaderMalformed": (400, "The authorization header is malformed."),
    "AuthorizationQueryParametersError": (400, "The query parameters that provide authentication "
                                               "information are not valid."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket succeeded "
                                     "and you already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object "
                            "size."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the "
                            "Content-Length HTTP header."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidArgument": (400, "Invalid Argument."),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part might "
                         "not have been uploaded, or the specified entity tag might not have "
                         "matched the part's entity tag."),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. The parts list must "
                              "be specified in order by part number."),
    "InvalidRange": (416, "The requested range is not satisfiable."),
    "InvalidRequest": (400, "Invalid Request."),
    "InvalidStorageClass": (400, "The storage class you specified is not valid."),
    "KeyTooLongError": (400, "Your key is too long."),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate against "
                          "our published schema."),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingSecurityHeader": (400, "Your request is missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist."),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchUpload": (404, "The specified multipart upload does not exist. The upload ID might be "
                          "invalid, or the multipart upload might have been aborted or "
                          "completed."),
    "NotImplemented": (501, "A header you provided implies functionality that is not "
                            "implemented."),
    "PreconditionFailed": (412, "At least one of the preconditions you specified did not hold."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the current time "
                                  "is too large."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the "
                                   "signature you provided. Check your key and signing method."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not "
                                       "match what was computed."),
}


class S3Error(Exception):
    """An S3 error answer; ``extra`` adds elements to the body (``BucketName``, ``Key`` ...)."""

    def __init__(self, code: str, message: str | None = None, **extra: Any) -> None:
        status, default = CODES[code]
        self.code, self.status = code, status
        self.message = message or default
        self.extra = {k: str(v) for k, v in extra.items() if v is not None}
        super().__init__(f"{code}: {self.message}")


def error_body(err: S3Error, resource: str, request_id: str) -> bytes:
    extra = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in err.extra.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{err.code}</Code><Message>{escape(err.message)}</Message>{extra}"
            f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId>"
            "</Error>").encode()


def response(err: S3Error, resource: str, request_id: str, head: bool = False) -> Response:
    """The error's answer; a HEAD's has no body (S3's: the client reads the status alone)."""
    body = b"" if head else error_body(err, resource, request_id)
    return Response(body, err.status, media_type="application/xml")


def not_implemented(what: str) -> S3Error:
    return S3Error("NotImplemented", f"{what} is not implemented by this cloud's S3 API.")


def from_swift(exc: SwiftError, bucket: str | None = None, key: str | None = None) -> S3Error:
    """The S3 error for a Swift answer to a subrequest about ``bucket`` (and ``key``)."""
    status, text = exc.status, exc.message if exc.plain else ""
    if status == 404:
        if key is not None:
            return S3Error("NoSuchKey", Key=key)
        return S3Error("NoSuchBucket", BucketName=bucket)
    if status == 400:
        if text.startswith("Object name length"):
            return S3Error("KeyTooLongError", text)
        if "etadata" in text:
            return S3Error("MetadataTooLarge", text)
        return S3Error("InvalidArgument", text or None)
    simple = {401: "AccessDenied", 403: "AccessDenied", 409: "BucketNotEmpty",
              411: "MissingContentLength", 412: "PreconditionFailed", 413: "EntityTooLarge",
              416: "InvalidRange", 422: "BadDigest", 499: "IncompleteBody",
              501: "NotImplemented"}
    code = simple.get(status)
    if code is not None:
        return S3Error(code, text or None)
    return S3Error("ServiceUnavailable", f"The object servers could not answer ({status}); try "
                                         "again.")
