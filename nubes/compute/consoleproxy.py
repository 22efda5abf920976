"""The console proxies: noVNC's (``[compute] novncproxy_port``, 6080, as Nova's nova-novncproxy) and the
serial console's (``serialproxy_port``, 6083, as nova-serialproxy), two more listeners of the compute
service, started by ``nubes up`` and ``nubes serve compute`` beside the API.

A browser (noVNC) or any websocket client connects to ``/?token=...`` (or ``/websockify?token=...``;
older noVNC sends the token as a ``token`` cookie instead). The token is used once
(``service.consoles.Consoles.consume``: live, of this proxy's console type, its server not deleted);
the proxy then opens a TCP connection to where the token says the guest's console is (QEMU's VNC
server or serial port, or the fake driver's) and relays bytes both ways as binary websocket frames
(the ``binary`` subprotocol noVNC asks for). A refused connection is closed before the websocket is
accepted (HTTP 403). As Nova's, a websocket whose ``Origin`` names another host than the one it
connected to is refused, unless that host is in ``[compute] console_allowed_origins``.

Over plain HTTP the noVNC proxy serves noVNC's own files from ``[compute] novnc_web`` (Debian's
``novnc`` package puts them in /usr/share/novnc), so the URL the API hands out
(``/vnc_auto.html?path=%3Ftoken%3D...``) opens the console in a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import mimetypes
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from nubes.core.concurrency import run_blocking
from nubes.core.exceptions import CloudError

LOG = logging.getLogger(__name__)
Send = Callable[[dict], Awaitable[None]]
Receive = Callable[[], Awaitable[dict]]
WS_PATHS = ("/", "/websockify")
CONNECT_TIMEOUT = 10.0
CHUNK = 65536


def _headers(scope: dict) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers") or []}


def token_of(scope: dict) -> str | None:
    """The token of the query string (``token=``; noVNC's ``path`` parameter puts it there), else the
    ``token`` cookie."""
    query = parse_qs((scope.get("query_string") or b"").decode("latin-1"))
    if query.get("token"):
        return query["token"][0]
    cookie = SimpleCookie()
    with contextlib.suppress(Exception):
        cookie.load(_headers(scope).get("cookie", ""))
    morsel = cookie.get("token")
    return morsel.value if morsel is not None else None


def origin_allowed(scope: dict, allowed: list[str]) -> bool:
    headers = _headers(scope)
    origin = headers.get("origin")
    if not origin or origin == "null":
        return True                           # not a browser, or one that does not say
    origin_host = urlsplit(origin).hostname
    host = urlsplit(f"//{headers.get('host', '')}").hostname
    return origin_host is not None and (origin_host == host or origin_host in allowed)


class ConsoleProxy:
    """One console proxy: an ASGI app that relays websockets to guests' consoles of ``console_types``."""

    def __init__(self, state: Any, name: str, console_types: tuple[str, ...],
                 web: Path | None = None) -> None:
        self.state = state
        self.name = name
        self.console_types = console_types
        self.web = web

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "websocket":
            await self.websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self.http(scope, send)

    # -- websockets --------------------------------------------------------------------------------
    async def websocket(self, scope: dict, receive: Receive, send: Send) -> None:
        if (await receive())["type"] != "websocket.connect":
            return
        refuse = {"type": "websocket.close", "code": 1008}
        if scope.get("path") not in WS_PATHS:
            await send(refuse)
            return
        if not origin_allowed(scope, list(self.state.conf.console_allowed_origins or [])):
            LOG.warning("%s: a websocket from origin %s refused", self.name, _headers(scope).get("origin"))
            await send(refuse)
            return
        token = token_of(scope)
        try:
            if not token:
                raise CloudError("no token")
            where = await self.state.consoles.consume(token, self.console_types)
        except CloudError:
            LOG.info("%s: a connection with an invalid, used or expired token refused", self.name)
            await send(refuse)
            return
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(where.host, where.port),
                                                    CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            LOG.warning("%s: the console of instance %s at %s:%s cannot be reached: %s", self.name,
                        where.instance_uuid, where.host, where.port, e)
            await send(refuse)
            return
        offered = scope.get("subprotocols") or []
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if "binary" in offered:
            accept["subprotocol"] = "binary"
        await send(accept)
        LOG.info("%s: console of instance %s opened", self.name, where.instance_uuid)
        try:
            await relay(receive, send, reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            LOG.info("%s: console of instance %s closed", self.name, where.instance_uuid)

    # -- plain HTTP: health and noVNC's files ------------------------------------------------------
    async def http(self, scope: dict, send: Send) -> None:
        path = scope.get("path") or "/"
        if scope.get("method") not in ("GET", "HEAD"):
            await _respond(send, 405, b"Only GET is served here.\n")
            return
        if path == "/healthcheck":
            await _respond(send, 200, b"OK")
            return
        if self.web is None:
            await _respond(send, 404, b"Not found: this proxy serves websockets at /?token=...\n")
            return
        name = path.lstrip("/") or "vnc_auto.html"
        root = self.web.resolve()
        target = (root / name).resolve()
        if root not in target.parents or not await run_blocking(target.is_file):
            if not await run_blocking(root.is_dir):
                await _respond(send, 404, (
                    f"noVNC's files are not installed in {root} (install Debian's novnc package or set "
                    "[compute] novnc_web); the console's websocket is at /?token=... for any noVNC "
                    "client.\n").encode())
                return
            await _respond(send, 404, b"Not found.\n")
            return
        body = await run_blocking(target.read_bytes)
        ctype = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        await _respond(send, 200, b"" if scope.get("method") == "HEAD" else body, ctype)


async def _respond(send: Send, status: int, body: bytes, ctype: str = "text/plain; charset=utf-8") -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(body)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body})


async def relay(receive: Receive, send: Send, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> None:
    """Bytes both ways until either side ends: websocket frames (binary or text) to the console, the
    console's bytes to binary frames."""

    async def client_to_console() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                data = (message.get("text") or "").encode()
            if data:
                writer.write(data)
                await writer.drain()

    async def console_to_client() -> None:
        while data := await reader.read(CHUNK):
            await send({"type": "websocket.send", "bytes": data})

    tasks = [asyncio.create_task(client_to_console()), asyncio.create_task(console_to_client())]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if tasks[1] in done:                       # the console hung up: so does the websocket
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": 1000})


def build_novnc(rt: Any) -> ConsoleProxy:
    state = rt.extra["compute"]
    web = Path(state.conf.novnc_web) if state.conf.novnc_web else None
    return ConsoleProxy(state, "novncproxy", ("novnc",), web)


def build_serial(rt: Any) -> ConsoleProxy:
    return ConsoleProxy(rt.extra["compute"], "serialproxy", ("serial",))
