"""The metadata agent: instances reach 169.254.169.254:80 and get compute's metadata API, signed.

Keys are ``("router", id)`` — a listener on port 9697 inside ``qrouter-<id>``, where the L3
agent's ruleset redirects the instances' HTTP to 169.254.169.254 — and ``("network", id)`` — a
listener on 169.254.169.254:80 inside ``qdhcp-<id>`` for a network with an isolated subnet.
Sockets are opened inside the namespace (pyroute2 forks a child there and hands the socket
back), so no process per namespace is needed; a listener whose namespace is gone or was made
again is closed (and opened anew when it is still wanted).

A request is tied to its instance by where it came from: the namespace (router or network)
and the source address, asked of the server (``find_port``). It is forwarded to
``metadata_url`` with Neutron's headers: ``X-Instance-ID`` (the port's device id),
``X-Tenant-ID``, ``X-Instance-ID-Signature`` (HMAC-SHA256 of the instance id with the shared
secret) and ``X-Forwarded-For``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Hashable, Iterable
from typing import Any

import httpx
from pyroute2 import netns as pyroute2_netns

from nubes.core import metadata_auth
from nubes.core.concurrency import run_blocking
from nubes.core.exceptions import CloudError, NotFound
from nubes.network.agent import dhcp as dhcp_agent
from nubes.network.agent import dhcp_config, l3, nat
from nubes.network.agent.base import AgentContext, HostAgent
from nubes.network.agent.linux import netns

LOG = logging.getLogger(__name__)

IP_FREEBIND = 15
MAX_HEADER = 16384
MAX_BODY = 1 << 20
CACHE_TTL = 5.0
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
           500: "Internal Server Error", 502: "Bad Gateway"}
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "x-instance-id",
               "x-tenant-id", "x-instance-id-signature", "x-forwarded-for", "proxy-connection", "upgrade"}


sign = metadata_auth.sign     # what compute checks (nubes.core.metadata_auth)


def _listen_in(ns: str, address: str, port: int) -> socket.socket:
    sock = pyroute2_netns.create_socket(ns, socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_FREEBIND, 1)
        sock.bind((address, port))
        sock.listen(128)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class Listener:
    def __init__(self, key: tuple[str, str], ns: str, inode: int | None, server: asyncio.Server) -> None:
        self.key, self.ns, self.inode, self.server = key, ns, inode, server

    async def close(self) -> None:
        self.server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.server.wait_closed(), 2)


class MetadataAgent(HostAgent):
    name = "metadata"
    agent_type = "Metadata agent"
    binary = "nubes-metadata-agent"
    events = ("network.router.", "network.port.", "network.subnet.", "network.agent.")

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.listeners: dict[tuple[str, str], Listener] = {}
        self._cache: dict[tuple[str, str, str], tuple[float, dict[str, Any]]] = {}
        self.http = httpx.AsyncClient(timeout=30)
        self.dhcp_settings = dhcp_config.DhcpSettings(isolated_metadata=self.settings.enable_isolated_metadata)

    def configurations(self) -> dict[str, Any]:
        return {"metadata_proxy_socket": "in-process", "nova_metadata_host": self.settings.metadata_url,
                "listeners": len(self.listeners)}

    def _wanted(self, snap: dict[str, Any]) -> set[tuple[str, str]]:
        out = {("router", r["id"]) for r in snap.get("routers") or [] if r.get("interfaces")
               and r.get("admin_state_up", True)}
        for entry in snap.get("dhcp") or []:
            net = (snap.get("networks") or {}).get(entry["network_id"])
            if net is None:
                continue
            subnets = [s for sid in net.get("subnets") or [] if (s := snap["subnets"].get(sid))]
            if dhcp_config.needs_metadata_address(subnets, entry["ports"], self.dhcp_settings):
                out.add(("network", entry["network_id"]))
        return out

    async def keys(self) -> Iterable[Hashable]:
        snap = await self.source.get(max_age=self.resync / 2)
        return sorted(self._wanted(snap) | set(self.listeners))

    async def converge(self, key: Hashable) -> None:
        kind, ident = key  # type: ignore[misc]
        ns = l3.namespace(ident) if kind == "router" else dhcp_agent.namespace(ident)
        wanted = (kind, ident) in self._wanted(await self.source.current())
        inode = netns.inode(ns)
        current = self.listeners.get((kind, ident))
        if current is not None and (not wanted or inode is None or current.inode != inode):
            await self.listeners.pop((kind, ident)).close()
            current = None
        if not wanted or current is not None or inode is None:
            return          # the namespace's agent kicks us once it has made it
        address, port = ("0.0.0.0", nat.METADATA_PORT) if kind == "router" else (dhcp_config.METADATA_IP, 80)
        sock = await run_blocking(_listen_in, ns, address, port)

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self._serve(kind, ident, reader, writer)

        server = await asyncio.start_server(handle, sock=sock)
        self.listeners[(kind, ident)] = Listener((kind, ident), ns, inode, server)
        LOG.info("metadata proxy listening on %s:%d in %s", address, port, ns)

    # -- one request ---------------------------------------------------------------------------
    async def _serve(self, kind: str, ident: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = writer.get_extra_info("peername")[0]
            status, headers, body = await self._proxy(kind, ident, peer, reader)
        except asyncio.CancelledError:
            raise
        except Exception:
            LOG.exception("metadata request in %s %s failed", kind, ident)
            status, headers, body = 500, {"Content-Type": "text/plain"}, b"An unknown error has occurred.\n"
        head = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}", *(f"{k}: {v}" for k, v in headers.items()),
                f"Content-Length: {len(body)}", "Connection: close", "", ""]
        with contextlib.suppress(ConnectionError):
            writer.write("\r\n".join(head).encode("latin-1") + body)
            await writer.drain()
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()

    async def _proxy(self, kind: str, ident: str, peer: str,
                     reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
        try:
            raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            return 400, {"Content-Type": "text/plain"}, b"Bad request.\n"
        if len(raw) > MAX_HEADER:
            return 400, {"Content-Type": "text/plain"}, b"Request header too large.\n"
        lines = raw.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            return 400, {"Content-Type": "text/plain"}, b"Bad request line.\n"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip()] = value.strip()
        try:
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0") or 0)
        except ValueError:
            length = -1
        if length < 0:
            return 400, {"Content-Type": "text/plain"}, b"Bad Content-Length.\n"
        if length > MAX_BODY:
            return 413, {"Content-Type": "text/plain"}, b"Request body too large.\n"
        body = await reader.readexactly(length) if length else b""
        port = await self._instance(kind, ident, peer)
        if port is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found: no instance has this address here.\n"
        instance = port.get("device_id") or ""
        forward = {k: v for k, v in headers.items() if k.lower() not in HOP_HEADERS}
        forward.update({"X-Forwarded-For": peer, "X-Instance-ID": instance, "X-Tenant-ID": port.get("project_id") or "",
                        "X-Instance-ID-Signature": sign(self.settings.metadata_secret, instance)})
        url = self.settings.metadata_url.rstrip("/") + (target if target.startswith("/") else "/" + target)
        try:
            res = await self.http.request(method, url, headers=forward, content=body)
        except httpx.HTTPError as exc:
            LOG.warning("metadata API at %s unreachable: %s", self.settings.metadata_url, exc)
            return 500, {"Content-Type": "text/plain"}, b"Remote metadata server experienced an internal server error.\n"
        keep = {k: v for k, v in res.headers.items() if k.lower() not in HOP_HEADERS
                and k.lower() != "content-encoding"}
        return res.status_code, keep, res.content

    async def _instance(self, kind: str, ident: str, ip: str) -> dict[str, Any] | None:
        key = (kind, ident, ip)
        hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < CACHE_TTL:
            return hit[1]
        try:
            port = await self.server.call("find_port", ip=ip, **{f"{kind}_id": ident})
        except NotFound:
            return None
        except CloudError as exc:
            LOG.warning("finding the instance of %s in %s %s failed: %s", ip, kind, ident, exc)
            raise
        self._cache[key] = (time.monotonic(), port)
        return port

    async def shutdown(self) -> None:
        for listener in list(self.listeners.values()):
            await listener.close()
        self.listeners.clear()
        await self.http.aclose()
