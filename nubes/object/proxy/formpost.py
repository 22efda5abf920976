"""Uploads from a browser form without a token (Swift's formpost): a ``multipart/form-data``
POST to ``/v1/<account>/<container>[/<prefix>]`` whose fields ``redirect``, ``max_file_size``,
``max_file_count``, ``expires`` and ``signature`` (optional ``x_delete_at``,
``x_delete_after``) come before its files. The signature is an HMAC (SHA-1, SHA-256, SHA-512,
as TempURL's) with a TempURL key of the account or the container, of::

    <path>\\n<redirect>\\n<max_file_size>\\n<max_file_count>\\n<expires>

Each file is stored as ``<prefix><filename>`` (streamed, at most ``max_file_size`` bytes). The
answer is a 303 to ``redirect?status=<code>&message=<text>``, or without ``redirect`` the
status itself (``201 Created``) as text. Errors are Swift's: 400 ``FormPost: invalid starting
boundary``, ``FormPost: max_file_size exceeded``, 401 ``FormPost: Invalid Signature``,
``FormPost: Form Expired``."""

from __future__ import annotations

import hmac
import html
import mimetypes
import time
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from starlette.requests import ClientDisconnect
from starlette.responses import Response

from nubes.object.proxy import constraints, quotas, tempurl
from nubes.object.proxy.base import Cluster
from nubes.object.proxy.errors import SwiftError, page

MAX_VALUE_LENGTH = 4096             # a form field's value (Swift's)
MAX_HEADER_BLOCK = 8192
TEXT = {"content-type": "text/plain"}


class FormError(Exception):
    """A form Swift refuses: (status, message after ``FormPost: ``)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _boundary(req: Any) -> str | None:
    kind, _, params = req.headers.get("content-type", "").partition(";")
    if kind.strip().lower() != "multipart/form-data":
        return None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and value:
            return value.strip('"')
    return None


def is_form(req: Any) -> bool:
    return req.method == "POST" and _boundary(req) is not None


class _Parts:
    """The parts of a multipart body read from a stream of chunks, one after another: the
    caller reads (or skips) each part's body before asking for the next."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str) -> None:
        self.chunks = chunks.__aiter__()
        self.buf = b""
        self.delim = b"--" + boundary.encode("latin-1")
        self.eof = False

    async def _fill(self) -> bool:
        if self.eof:
            return False
        try:
            self.buf += await self.chunks.__anext__()
        except StopAsyncIteration:
            self.eof = True
        return not self.eof

    async def _line(self, limit: int) -> bytes:
        while b"\r\n" not in self.buf:
            if len(self.buf) > limit or not await self._fill():
                raise FormError(400, "invalid starting boundary")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    async def start(self) -> None:
        while len(self.buf) < len(self.delim) + 2 and await self._fill():
            pass
        self.buf = self.buf.lstrip(b"\r\n")
        if (await self._line(len(self.delim) + 64)).rstrip() != self.delim:
            raise FormError(400, "invalid starting boundary")

    async def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        while True:
            line = await self._line(MAX_HEADER_BLOCK)
            if not line:
                return out
            name, _, value = line.decode("utf-8", "replace").partition(":")
            out[name.strip().lower()] = value.strip()

    async def body(self) -> AsyncIterator[bytes]:
        """The part's bytes up to the next delimiter; then past it. Sets ``self.last``."""
        end = b"\r\n" + self.delim
        while True:
            at = self.buf.find(end)
            if at >= 0:
                chunk, self.buf = self.buf[:at], self.buf[at + len(end):]
                if chunk:
                    yield chunk
                break
            keep = len(end) - 1
            if len(self.buf) > keep:
                chunk, self.buf = self.buf[:-keep], self.buf[-keep:]
                yield chunk
            if not await self._fill():
                raise FormError(400, "invalid starting boundary")
        while len(self.buf) < 2 and await self._fill():
            pass
        self.last = self.buf.startswith(b"--")
        if not self.last:
            await self._line(MAX_HEADER_BLOCK)


def _disposition(value: str) -> tuple[str, dict[str, str]]:
    kind, *params = value.split(";")
    attrs = {}
    for param in params:
        name, _, val = param.strip().partition("=")
        attrs[name.strip().lower()] = val.strip().strip('"')
    return kind.strip().lower(), attrs


def _int(attrs: dict[str, str], name: str, message: str) -> int:
    try:
        return int(attrs.get(name) or 0)
    except ValueError:
        raise FormError(400, message) from None


def _check_signature(path: str, attrs: dict[str, str], keys: list[str]) -> None:
    if not keys:
        raise FormError(401, "invalid signature")
    if _int(attrs, "expires", "expired not an integer") < time.time():
        raise FormError(401, "form expired")
    body = "\n".join([path, attrs.get("redirect") or "", attrs.get("max_file_size") or "0",
                      attrs.get("max_file_count") or "0", attrs.get("expires") or "0"])
    try:
        digest, sig = tempurl.split_signature(attrs.get("signature", ""))
    except ValueError:
        raise FormError(401, "invalid signature") from None
    if not any(hmac.compare_digest(tempurl.sign(k, digest, body), sig) for k in keys):
        raise FormError(401, "invalid signature")


async def _capped(source: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    sent = 0
    async for chunk in source:
        sent += len(chunk)
        if sent > limit:
            raise FormError(400, "max_file_size exceeded")
        yield chunk


async def _store_file(cluster: Cluster, req: Any, account: str, container: str, name: str,
                      attrs: dict[str, str], part_headers: dict[str, str],
                      body: AsyncIterator[bytes]) -> int:
    from nubes.object.proxy import obj as objects

    constraints.check_object_name(name)
    # the form's content-type and content-encoding fields apply to every file; else the part's
    kind = attrs.get("content-type") if "content-type" in attrs else part_headers.get("content-type")
    headers = {"content-type": kind or mimetypes.guess_type(name)[0] or "application/octet-stream"}
    encoding = attrs.get("content-encoding", part_headers.get("content-encoding"))
    if encoding:
        headers["content-encoding"] = encoding
    if "x_delete_at" in attrs:
        _int(attrs, "x_delete_at", "x_delete_at not an integer: Unix timestamp required.")
    if "x_delete_after" in attrs:
        _int(attrs, "x_delete_after", "x_delete_after not an integer: Number of seconds required.")
    delete_at = constraints.delete_at({k: attrs[f] for k, f in (
        ("x-delete-at", "x_delete_at"), ("x-delete-after", "x_delete_after")) if f in attrs})
    if delete_at is not None:
        headers["x-delete-at"] = delete_at
    await quotas.check_upload(cluster, req, account, container, None)
    limit = _int(attrs, "max_file_size", "max_file_size not an integer")
    answer = await objects.store(cluster, account, container, name, headers, None,
                                 _capped(body, limit))
    return answer.status_code


async def _translate(cluster: Cluster, req: Any, account: str, container: str,
                     prefix: str | None) -> tuple[int, str, dict[str, str], bytes]:
    path = req.scope["path"]            # as the client signed it (Swift's PATH_INFO)
    parts = _Parts(req.stream(), _boundary(req) or "")
    await parts.start()
    attrs: dict[str, str] = {}
    keys: list[str] | None = None
    status, message, count, failure = 0, "", 0, b""
    while True:
        headers = await parts.headers()
        kind, disposition = _disposition(headers.get("content-disposition", ""))
        body = parts.body()
        if kind == "form-data" and disposition.get("filename"):
            count += 1
            if count > _int(attrs, "max_file_count", "max_file_count not an integer"):
                status, message = 400, "max file count exceeded"
                break
            if keys is None:
                keys = await tempurl.keys(cluster, req, account, container)
            _check_signature(path, attrs, keys)
            name = (prefix or "") + disposition["filename"]
            try:
                status = await _store_file(cluster, req, account, container, name, attrs,
                                           headers, body)
            except SwiftError as exc:
                status = exc.status
                failure = exc.message.encode() if exc.plain else page(exc.status)
            if not 200 <= status < 300:
                break
        else:
            value = b""
            async for chunk in body:
                if len(value) < MAX_VALUE_LENGTH:
                    value += chunk[:MAX_VALUE_LENGTH - len(value)]
            if "name" in disposition:
                attrs[disposition["name"].lower()] = value.decode("utf-8", "replace")
        async for _ in body:            # what the part's reader left
            pass
        if parts.last:
            break
    if not status:
        status, message = 400, "no files to process"
    return status, message, attrs, failure


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


async def serve(cluster: Cluster, req: Any, account: str, container: str,
                prefix: str | None) -> Response:
    try:
        status, message, attrs, failure = await _translate(cluster, req, account, container, prefix)
    except FormError as exc:
        text = str(exc).title() if exc.status == 401 else str(exc)
        raise SwiftError(exc.status, f"FormPost: {text}", TEXT) from None
    except ClientDisconnect:
        raise SwiftError(499) from None
    redirect = attrs.get("redirect")
    if not redirect:
        body = f"{status} {_phrase(status)}"
        if message:
            body += f"\r\nFormPost: {message.title()}"
        return Response(failure or body.encode(), status, headers=TEXT)
    redirect += "&" if "?" in redirect else "?"
    redirect += f"status={quote(str(status))}&message={quote(message)}"
    body = f'<html><body><p><a href="{html.escape(redirect)}">Click to continue...</a></p></body></html>'
    return Response(body.encode(), 303, headers={"Location": redirect})
