"""Request bodies as the S3 API stores them: checked against what the signature covers
(``x-amz-content-sha256``) and against ``Content-MD5``, and decoded from ``aws-chunked``.

An object body is streamed: its SHA-256 is computed on the way and a mismatch at its end raises
before the last chunk is handed on, so the storage servers never get the whole body and keep
nothing (the proxy ends their requests with an error). ``aws-chunked`` bodies without chunk
signatures (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``, what boto3 sends over HTTPS) are decoded,
their trailing checksum not judged; chunk-signed ones (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``,
what MinIO's clients and the AWS Java SDK send over HTTP) have every chunk's signature checked
with the credential's secret (identity.py) before its bytes go on."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import AsyncIterator
from typing import Any

from nubes.object.s3 import auth, identity
from nubes.object.s3.documents import MAX_BODY
from nubes.object.s3.errors import S3Error

MAX_CHUNK_LINE = 4096
MAX_SIGNED_CHUNK = 16 * 1024 * 1024     # a chunk is held whole until its signature is checked


def content_md5(headers: Any) -> str | None:
    """``Content-MD5`` (base64) as the hex ETag the object server checks the body against."""
    value = headers.get("content-md5")
    if value is None:
        return None
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise S3Error("InvalidDigest") from None
    if len(digest) != 16:
        raise S3Error("InvalidDigest")
    return digest.hex()


def is_chunked(req: Any) -> bool:
    encoding = req.headers.get("content-encoding", "")
    return req.signed.payload in (auth.STREAMING_SIGNED, auth.STREAMING_UNSIGNED) or \
        "aws-chunked" in encoding.lower()


def object_length(req: Any) -> int:
    """The length of the object the body carries (``x-amz-decoded-content-length`` for
    aws-chunked); S3 needs one."""
    name = "x-amz-decoded-content-length" if is_chunked(req) else "content-length"
    value = req.headers.get(name)
    if value is None:
        raise S3Error("MissingContentLength", f"You must provide the {name} HTTP header.")
    if not value.isdigit():
        raise S3Error("InvalidArgument", f"{name} must be a number of bytes.")
    return int(value)


def stored_encoding(headers: Any) -> str | None:
    """``Content-Encoding`` less ``aws-chunked`` (a transfer detail, not the object's)."""
    value = headers.get("content-encoding")
    if value is None:
        return None
    kept = [v.strip() for v in value.split(",") if v.strip() and v.strip() != "aws-chunked"]
    return ",".join(kept) or None


def body(req: Any) -> AsyncIterator[bytes]:
    """The object's bytes from the request, checked and decoded."""
    source = req.http.stream()
    if req.signed.payload == auth.STREAMING_SIGNED:
        return _signed_chunks(req, source)
    if is_chunked(req):
        source = decode_chunked(source)
    if req.signed.version == 4 and len(req.signed.payload) == 64:
        source = _sha256_checked(source, req.signed.payload)
    return source


async def small_body(req: Any) -> bytes:
    """A document body (bucket configuration, parts, keys to delete), read whole (at most
    MAX_BODY bytes) and checked."""
    data = bytearray()
    async for chunk in body(req):
        data += chunk
        if len(data) > MAX_BODY:
            raise S3Error("MalformedXML", f"The XML document is larger than {MAX_BODY} bytes.")
    md5 = content_md5(req.headers)
    if md5 is not None and hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
        raise S3Error("BadDigest")
    return bytes(data)


async def _sha256_checked(source: AsyncIterator[bytes], expected: str) -> AsyncIterator[bytes]:
    """The chunks, each handed on once the next has come: the last one only when the body's
    SHA-256 is the one signed (a server that got every declared byte would keep the object)."""
    digest, held = hashlib.sha256(), b""
    async for chunk in source:
        if not chunk:
            continue
        digest.update(chunk)
        if held:
            yield held
        held = chunk
    if digest.hexdigest() != expected:
        raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=expected,
                      S3ComputedContentSHA256=digest.hexdigest())
    if held:
        yield held


class _Reader:
    """Lines and runs of bytes from a stream of chunks."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self.source, self.buffer = source.__aiter__(), bytearray()

    async def _more(self) -> None:
        try:
            self.buffer += await self.source.__anext__()
        except StopAsyncIteration:
            raise S3Error("IncompleteBody", "The aws-chunked body ended early.") from None

    async def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if len(self.buffer) > MAX_CHUNK_LINE:
                raise S3Error("InvalidArgument", "An aws-chunked chunk header is too long.")
            await self._more()
        at = self.buffer.index(b"\r\n")
        out = bytes(self.buffer[:at])
        del self.buffer[:at + 2]
        return out

    async def take(self, size: int) -> AsyncIterator[bytes]:
        while size:
            if not self.buffer:
                await self._more()
            piece = bytes(self.buffer[:size])
            del self.buffer[:len(piece)]
            size -= len(piece)
            yield piece


async def _signed_chunks(req: Any, source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The data of a chunk-signed aws-chunked body, each chunk's signature checked (chained from
    the request's), each chunk handed on once the next one was checked: the last data only
    after the final, empty chunk's signature, so a forged end stores nothing."""
    key = auth.signing_key(await identity.secret(req.rt, req.swift.ctx, req.signed.access),
                           req.signed.scope)
    reader, previous, held = _Reader(source), req.signed.signature, b""
    while True:
        size_text, _, extension = (await reader.line()).partition(b";")
        try:
            size = int(size_text.strip(), 16)
        except ValueError:
            raise S3Error("InvalidArgument", "An aws-chunked chunk size is not hexadecimal.") from None
        if size > MAX_SIGNED_CHUNK:
            raise S3Error("InvalidArgument", f"A signed chunk is larger than {MAX_SIGNED_CHUNK} bytes.")
        given = extension.partition(b"chunk-signature=")[2].strip().decode("latin-1")
        data = b"".join([piece async for piece in reader.take(size)])
        if size and await reader.line() != b"":
            raise S3Error("InvalidArgument", "An aws-chunked chunk is longer than its size.")
        expected = auth.chunk_signature(key, req.signed, previous, data)
        if not hmac.compare_digest(expected.encode(), given.encode()):
            raise S3Error("SignatureDoesNotMatch", "The signature of a chunk of the body does not "
                                                   "match.", AWSAccessKeyId=req.signed.access)
        previous = given
        if not size:
            break
        if held:
            yield held
        held = data
    if held:
        yield held


async def decode_chunked(source: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The data of an aws-chunked body: ``<hex size>[;chunk-signature=...]\\r\\n<data>\\r\\n``
    chunks, a chunk of size 0, then trailer lines up to an empty one."""
    reader = _Reader(source)
    while True:
        header = (await reader.line()).split(b";", 1)[0].strip()
        try:
            size = int(header, 16)
        except ValueError:
            raise S3Error("InvalidArgument", "An aws-chunked chunk size is not hexadecimal.") from None
        if size == 0:
            break
        async for piece in reader.take(size):
            yield piece
        if await reader.line() != b"":
            raise S3Error("InvalidArgument", "An aws-chunked chunk is longer than its size.")
    while True:         # trailers (a checksum), then the empty line; some clients end at once
        try:
            if await reader.line() == b"":
                return
        except S3Error:
            return
