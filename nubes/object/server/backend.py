"""What the three storage servers share: the backend request shape, device checks, durable file
writes, the updates one server sends another (with the async pending files left on failure) and
the expirer's queue entries the object server leaves for objects with an X-Delete-At."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import sqlite3
import ssl
import tempfile
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
from starlette.requests import Request
from starlette.responses import Response

from nubes.core.durable import fsync_dir
from nubes.object.timestamps import InvalidTimestamp, Timestamp, parse_header

LOG = logging.getLogger(__name__)


class HTTPError(Exception):
    """An answer other than success; the apps turn it into a plain-text response."""

    def __init__(self, status: int, message: str = "", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def response(self, head: bool = False) -> Response:
        body = b"" if head or self.status in (204, 304) else (self.message + "\n").encode()
        # The object's headers may come along (412, 304): its Content-Length only to a HEAD.
        headers = {k: v for k, v in self.headers.items()
                   if head or k.lower() not in ("content-length", "content-type")}
        return Response(body, status_code=self.status, headers=headers,
                        media_type="text/plain; charset=utf-8")


def split_path(request: Request, minimum: int, maximum: int) -> list[str]:
    """The path's ``/``-separated segments, decoded; the last may hold further slashes (an object
    name). ``device`` and ``partition`` must be plain and the partition numeric."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = unquote(raw.decode("latin-1").split("?", 1)[0], encoding="utf-8", errors="strict")
    if not path.startswith("/"):
        raise HTTPError(400, "Invalid path")
    parts = path[1:].split("/", maximum - 1)
    if len(parts) < minimum or any(not p for p in parts[:minimum]):
        raise HTTPError(400, f"Invalid path: {path}")
    if len(parts) == maximum and not parts[-1]:
        raise HTTPError(400, f"Invalid path: {path}")
    if any(not p for p in parts[:-1]) or any(p in (".", "..") for p in parts[:2]):
        raise HTTPError(400, f"Invalid path: {path}")
    if len(parts) > 1 and not parts[1].isdigit():
        raise HTTPError(400, f"Invalid partition: {parts[1]}")
    return parts


def title_case(key: str) -> str:
    """``x-object-meta-color`` as stored and sent back: ``X-Object-Meta-Color``."""
    return "-".join(p[:1].upper() + p[1:] for p in key.split("-"))


def request_timestamp(request: Request) -> Timestamp:
    try:
        return parse_header(request.headers.get("x-timestamp"))
    except InvalidTimestamp as exc:
        raise HTTPError(400, str(exc)) from None


def make_dirs(path: Path) -> None:
    """``mkdir -p`` whose new entries survive a crash: each parent of a new directory is fsynced."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        fsync_dir(directory.parent)


def durable_write(tmp_dir: Path, target: Path, data: bytes) -> None:
    """``data`` at ``target``, all or nothing: a temporary file on the same device, fsynced,
    renamed into place, and the directory fsynced."""
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=tmp_dir)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        make_dirs(target.parent)
        os.replace(tmp, target)
        fsync_dir(target.parent)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def hash_dir(root: Path, partition: str, digest: bytes) -> Path:
    """``<root>/<partition>/<suffix>/<hash>``: the suffix is the hash's last three hex digits."""
    name = digest.hex()
    return root / partition / name[-3:] / name


@dataclass
class Devices:
    """The devices directory and the checks a request passes before touching one device."""

    root: Path
    mount_check: bool = False
    reserve: str = "1%"

    def path(self, device: str) -> Path:
        """The device's directory; 507 when it is not there (or not mounted, with mount_check)."""
        if "/" in device or device in (".", ".."):
            raise HTTPError(400, f"Invalid device: {device}")
        path = self.root / device
        if self.mount_check and not os.path.ismount(path):
            raise HTTPError(507, f"{device} is not mounted")
        if not path.is_dir():
            raise HTTPError(507, f"{device} is not there")
        return path

    def check_space(self, device_path: Path, size: int = 0) -> None:
        """507 when writing ``size`` more bytes would leave less free space than the reserve."""
        st = os.statvfs(device_path)
        free = st.f_bavail * st.f_frsize
        reserve = self.reserve.strip()
        if reserve.endswith("%"):
            need = st.f_blocks * st.f_frsize * float(reserve[:-1]) / 100
        else:
            need = float(reserve or 0)
        if free - size < need:
            raise HTTPError(507, "Not enough free space on the device")


@dataclass(frozen=True)
class UpdateTarget:
    host: str
    device: str
    partition: str


def update_targets(request: Request, kind: str) -> list[UpdateTarget]:
    """The nodes named by ``X-<Kind>-Host``, ``-Device`` and ``-Partition`` (hosts and devices
    comma-separated, one each per replica, as the proxy sends them)."""
    hosts = request.headers.get(f"x-{kind}-host", "")
    devices = request.headers.get(f"x-{kind}-device", "")
    partition = request.headers.get(f"x-{kind}-partition", "")
    if not hosts:
        return []
    host_list = [h.strip() for h in hosts.split(",") if h.strip()]
    device_list = [d.strip() for d in devices.split(",") if d.strip()]
    if len(host_list) != len(device_list) or not partition.isdigit():
        raise HTTPError(400, f"Mismatched X-{kind.title()}-Host, -Device and -Partition headers")
    return [UpdateTarget(h, d, partition) for h, d in zip(host_list, device_list, strict=True)]


async def send_update(target: UpdateTarget, method: str, path: str, headers: dict[str, str],
                      timeout: float) -> bool:
    """One backend update (``path`` = /account/container[/object], unquoted); True on a 2xx."""
    url_path = f"/{quote(target.device)}/{target.partition}{quote(path)}"
    try:
        async with asyncio.timeout(timeout):
            status = await _bodiless_request(target.host, method, url_path, headers)
    except (OSError, EOFError, ValueError, IndexError, asyncio.LimitOverrunError):
        return False                            # refused, reset, timed out, not HTTP
    return 200 <= status < 300


# The updates' own HTTP/1.1 client: a request without a body and a short answer is all they need,
# and httpx cost ~1-1.6 ms of CPU per request here against ~0.1 ms for this (three updates a PUT).
# Connections are kept per event loop and host, at most MAX_IDLE idle ones each.
MAX_IDLE = 32
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_IDLE: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, list[_Connection]]] = \
    weakref.WeakKeyDictionary()


async def _bodiless_request(host: str, method: str, path: str, headers: dict[str, str]) -> int:
    """``method path`` to ``host`` (``ip:port``) with no body: the answer's status. A kept-alive
    connection the server has closed meanwhile is dropped and the next (or a new one) tried; an
    update may be sent twice that way, which its timestamp makes harmless."""
    if any("\r" in f"{k}{v}" or "\n" in f"{k}{v}" for k, v in headers.items()):
        raise ValueError("a header holds a line break")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Content-Length: 0"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    idle = _IDLE.setdefault(asyncio.get_running_loop(), {}).setdefault(host, [])
    while idle:
        reader, writer = idle.pop()
        if reader.at_eof() or writer.is_closing():
            writer.close()
            continue
        try:
            return await _exchange(reader, writer, request, idle)
        except (OSError, EOFError):
            continue
    ip, _, port = host.rpartition(":")
    reader, writer = await asyncio.open_connection(ip.strip("[]"), int(port))
    return await _exchange(reader, writer, request, idle)


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes,
                    idle: list[_Connection]) -> int:
    """Send ``request``, read the answer whole; the connection goes back to ``idle`` when the
    answer's end is known and the server keeps it open, else it is closed."""
    try:
        writer.write(request)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        length: int | None = 0 if status in (204, 304) else None
        keep = head[0].startswith("HTTP/1.1 ")
        for line in head[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" or (name == "connection" and "close" in value.lower()):
                keep = False
        if length:
            await reader.readexactly(length)
    except BaseException:
        writer.close()
        raise
    if keep and length is not None and len(idle) < MAX_IDLE:
        idle.append((reader, writer))
    else:
        writer.close()
    return status


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every backend client: making one loads the trust store (~30 ms)."""
    return httpx.create_ssl_context(trust_env=False)


async def close_update_client() -> None:
    """Close this loop's kept update connections (a storage app's shutdown)."""
    for connections in _IDLE.pop(asyncio.get_running_loop(), {}).values():
        for _, writer in connections:
            writer.close()


async def update_or_save(device_path: Path, targets: list[UpdateTarget], method: str,
                         account: str, container: str, obj: str | None,
                         headers: dict[str, str], timestamp: Timestamp, digest: bytes,
                         timeout: float) -> None:
    """Send an update to every target; those that fail are written to one async pending file
    for the updater (format in docs/object-storage-servers.md)."""
    path = "/" + "/".join(p for p in (account, container, obj) if p is not None)
    results = await asyncio.gather(*(send_update(t, method, path, headers, timeout)
                                     for t in targets))
    failed = [t for t, ok in zip(targets, results, strict=True) if not ok]
    if failed:
        await asyncio.to_thread(save_async_pending, device_path, method, account, container, obj,
                                headers, timestamp, digest, failed)


def save_async_pending(device_path: Path, method: str, account: str, container: str,
                       obj: str | None, headers: dict[str, str], timestamp: Timestamp,
                       digest: bytes, targets: list[UpdateTarget]) -> Path:
    record: dict[str, Any] = {
        "op": method, "account": account, "container": container, "obj": obj,
        "headers": headers, "timestamp": timestamp.internal,
        "targets": [{"host": t.host, "device": t.device, "partition": t.partition}
                    for t in targets],
    }
    name = digest.hex()
    target = device_path / "async_pending" / name[-3:] / f"{name}-{timestamp.internal}"
    durable_write(device_path / "tmp", target, json.dumps(record, sort_keys=True).encode())
    return target


def read_async_pending(path: Path) -> dict[str, Any]:
    return json.loads(path.read_bytes())


# Queue entries are grouped in directories of a day (Swift's expiring_objects_container_divisor).
EXPIRING_DIVISOR = 86400


def expiring_path(device_path: Path, delete_at: int, digest: bytes) -> Path:
    """``<device>/expiring/<day>/<delete_at>-<hash>``: names sort by when they are due."""
    day = delete_at // EXPIRING_DIVISOR * EXPIRING_DIVISOR
    return device_path / "expiring" / f"{day:010d}" / f"{delete_at:010d}-{digest.hex()}"


def save_expiring(device_path: Path, delete_at: int, account: str, container: str, obj: str,
                  digest: bytes) -> Path:
    """The expirer's entry for an object to delete at ``delete_at`` (format in
    docs/object-storage-servers.md); one per object and X-Delete-At, written durably."""
    record = {"account": account, "container": container, "obj": obj, "delete_at": delete_at}
    target = expiring_path(device_path, delete_at, digest)
    durable_write(device_path / "tmp", target, json.dumps(record, sort_keys=True).encode())
    return target


def etag_of(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


# Verbs beyond HTTP's that may also come as a POST with ``X-Backend-Method``: uvicorn's default
# parser (httptools, llhttp) refuses a request line with a method it does not know, so the
# replicators send ``REPLICATE`` and ``SSYNC`` that way (a server behind h11 takes the verbs
# themselves too, but h11 parses bodies in Python: large objects moved at half the speed).
TUNNELLED = ("REPLICATE", "SSYNC")
METHOD_HEADER = "X-Backend-Method"


def storage_app(handlers: dict[str, Any]):
    """A Starlette app that sends every path to ``handlers[method](request)``; an HTTPError
    raised by one becomes its plain-text answer, an unknown method 405."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    async def endpoint(request: Request) -> Response:
        method = request.method
        if method == "POST" and request.headers.get("x-backend-method", "").upper() in TUNNELLED:
            method = request.headers["x-backend-method"].upper()
        handler = handlers.get(method)
        if handler is None:
            return HTTPError(405, "Method Not Allowed").response()
        try:
            return await handler(request)
        except HTTPError as exc:
            return exc.response(head=method == "HEAD")
        except UnicodeDecodeError:
            return HTTPError(400, "Invalid UTF-8 in the path").response()
        except sqlite3.DatabaseError as exc:
            # A container or account database SQLite cannot read (moved aside by then, db.py:
            # the next request answers 404 and the replicators restore it) or cannot lock.
            LOG.warning("%s %s: %s", method, request.url.path, exc)
            return HTTPError(500, "Internal Server Error: database error").response(
                head=method == "HEAD")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await close_update_client()

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=list(handlers))],
                     lifespan=lifespan)
