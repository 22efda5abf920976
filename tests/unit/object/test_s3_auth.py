"""The S3 API's reading of signatures: the string to sign it builds from a request is the one
botocore signed (version 4 and 2, header and presigned), so identity's signature of it with the
secret (``s3_signature``) is the client's; chunk signatures chain as S3's example shows; and
aws-chunked bodies decode to their data."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from nubes.identity.service.credentials import s3_signature
from nubes.object.s3 import auth
from nubes.object.s3.errors import S3Error
from nubes.object.s3.payload import decode_chunked

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
URLS = ["http://127.0.0.1:8080/bucket/some%20key/with%2Bplus?uploadId=abc&partNumber=3",
        "http://127.0.0.1:8080/bucket?list-type=2&prefix=a%2Fb&delimiter=%2F",
        "http://127.0.0.1:8080/bucket?delete",
        "http://127.0.0.1:8080/"]


def _server_view(request: AWSRequest) -> tuple[str, str, dict[str, str]]:
    prepared = request.prepare()
    split = urlsplit(prepared.url)
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", split.netloc)
    return split.path or "/", split.query, headers


@pytest.mark.parametrize("url", URLS)
def test_v4_header_signature_is_the_clients(url):
    request = AWSRequest("PUT", url, data=b"body bytes", headers={"Content-Type": "text/plain",
                                                                  "x-amz-meta-Color": " blue  sky "})
    S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    path, query, headers = _server_view(request)
    signed = auth.parse("PUT", path, query, headers, "us-east-1")
    assert signed.access == "AKIDEXAMPLE" and signed.version == 4
    assert signed.payload == headers["x-amz-content-sha256"]
    assert s3_signature(CREDS.secret_key, signed.string_to_sign) == signed.signature


@pytest.mark.parametrize("url", URLS)
def test_v4_presigned_signature_is_the_clients(url):
    request = AWSRequest("GET", url)
    S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=600).add_auth(request)
    path, query, headers = _server_view(request)
    signed = auth.parse("GET", path, query, headers, "us-east-1")
    assert signed.payload == auth.UNSIGNED
    assert s3_signature(CREDS.secret_key, signed.string_to_sign) == signed.signature


def _bucket_auth_path(request: AWSRequest) -> None:
    # boto3 signs a bucket's resource as /<bucket>/ (S3's rule) while it sends /<bucket>
    path = urlsplit(request.url).path
    if path.count("/") == 1 and path != "/":
        request.auth_path = path + "/"


@pytest.mark.parametrize("url", URLS)
def test_v2_signatures_are_the_clients(url):
    request = AWSRequest("PUT", url, headers={"Content-Type": "text/plain",
                                              "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                                              "x-amz-meta-b": "2", "x-amz-meta-a": "1"})
    _bucket_auth_path(request)
    HmacV1Auth(CREDS).add_auth(request)
    path, query, headers = _server_view(request)
    signed = auth.parse("PUT", path, query, headers, "us-east-1")
    assert signed.version == 2
    assert s3_signature(CREDS.secret_key, signed.string_to_sign) == signed.signature
    presigned = AWSRequest("GET", url)
    _bucket_auth_path(presigned)
    HmacV1QueryAuth(CREDS, expires=600).add_auth(presigned)
    path, query, headers = _server_view(presigned)
    signed = auth.parse("GET", path, query, headers, "us-east-1")
    assert s3_signature(CREDS.secret_key, signed.string_to_sign) == signed.signature


def test_stale_expired_and_malformed_are_refused():
    request = AWSRequest("GET", URLS[0])
    S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(request)
    path, query, headers = _server_view(request)
    later = datetime.now(UTC) + timedelta(minutes=20)
    with pytest.raises(S3Error) as e:
        auth.parse("GET", path, query, headers, "us-east-1", now=later)
    assert e.value.code == "RequestTimeTooSkewed" and e.value.status == 403
    with pytest.raises(S3Error) as e:
        auth.parse("GET", path, query, headers, "eu-west-1")
    assert e.value.code == "AuthorizationHeaderMalformed" and "us-east-1" in e.value.message
    presigned = AWSRequest("GET", URLS[0])
    S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=60).add_auth(presigned)
    path, query, headers = _server_view(presigned)
    with pytest.raises(S3Error) as e:
        auth.parse("GET", path, query, headers, "us-east-1", now=later)
    assert (e.value.code, e.value.message) == ("AccessDenied", "Request has expired")
    for bad in ("AWS4-HMAC-SHA256 x", "AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, "
                "Signature=0", "AWS :"):
        with pytest.raises(S3Error) as e:
            auth.parse("GET", "/", "", {"authorization": bad, "host": "h"}, "us-east-1")
        assert 400 <= e.value.status < 500


def _collect(chunks: list[bytes]) -> bytes:
    async def source():
        for c in chunks:
            yield c

    async def run() -> bytes:
        return b"".join([piece async for piece in decode_chunked(source())])

    return asyncio.run(run())


def test_aws_chunked_bodies_decode():
    body = (b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\n"
            b"x-amz-checksum-crc32:AAAAAA==\r\n\r\n")
    assert _collect([body]) == b"hello world"
    assert _collect([body[i:i + 3] for i in range(0, len(body), 3)]) == b"hello world"
    with pytest.raises(S3Error):
        _collect([b"5\r\nhel"])
    with pytest.raises(S3Error):
        _collect([b"zz\r\nhello\r\n"])


def test_chunk_signatures_are_amazons_example():
    """The chained chunk signatures of S3's documented example (a 66,560-byte object in chunks
    of 65,536 and 1,024 bytes, then the empty one)."""
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    signed = auth.Signed("AKIAIOSFODNN7EXAMPLE", seed, b"", 4, auth.STREAMING_SIGNED,
                         "20130524T000000Z", "20130524/us-east-1/s3/aws4_request")
    key = auth.signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", signed.scope)
    first = auth.chunk_signature(key, signed, seed, b"a" * 65536)
    assert first == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
    second = auth.chunk_signature(key, signed, first, b"a" * 1024)
    assert second == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
    assert auth.chunk_signature(key, signed, second, b"") == \
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
