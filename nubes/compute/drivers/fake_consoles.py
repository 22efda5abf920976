"""The fake hypervisor's remote consoles: for each guest, on demand, a tiny RFB (VNC) server and a
serial port that echoes, on ``[compute] console_listen``, so that a console proxy and a VNC client
(noVNC) have something real to talk to without QEMU.

The RFB server speaks the protocol's handshake as QEMU's does (RFC 6143: version 3.8, also 3.7 and
3.3; security type None; ServerInit with a small framebuffer) and answers each full framebuffer
update request with one raw rectangle, all zero (black in any true-colour pixel format); incremental
requests get nothing, as nothing ever changes. The serial port greets with a line naming the guest
and then echoes what it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct

from nubes.compute.drivers.base import ConsoleEndpoint

WIDTH, HEIGHT = 64, 48
# 32 bits per pixel, depth 24, little endian, true colour, 8 bits per channel (red at 16).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
# Bytes that follow each client message type (after the type byte), or a length reader.
FIXED = {0: 19, 3: 9, 4: 7, 5: 5}


async def serve_rfb(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str) -> None:
    writer.write(b"RFB 003.008\n")
    await writer.drain()
    version = await reader.readexactly(12)
    if version == b"RFB 003.003\n":
        writer.write(struct.pack(">I", 1))                   # 3.3: the server picks None
    else:
        writer.write(bytes([1, 1]))                          # one security type: None
        await writer.drain()
        if (await reader.readexactly(1)) != b"\x01":
            writer.write(struct.pack(">I", 1))
            return
        if version != b"RFB 003.007\n":
            writer.write(struct.pack(">I", 0))               # SecurityResult OK (3.8)
    await writer.drain()
    await reader.readexactly(1)                              # ClientInit (shared flag)
    title = name.encode()[:255]
    writer.write(struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT + struct.pack(">I", len(title)) + title)
    await writer.drain()
    bpp = 32
    while True:
        kind = (await reader.readexactly(1))[0]
        if kind == 2:                                        # SetEncodings
            _pad, count = struct.unpack(">BH", await reader.readexactly(3))
            await reader.readexactly(4 * count)
        elif kind == 6:                                      # ClientCutText
            (length,) = struct.unpack(">3xI", await reader.readexactly(7))
            await reader.readexactly(length)
        elif kind in FIXED:
            data = await reader.readexactly(FIXED[kind])
            if kind == 0:                                    # SetPixelFormat
                bpp = data[3] or 32
            elif kind == 3 and not data[0]:                  # a full FramebufferUpdateRequest
                pixels = bytes(WIDTH * HEIGHT * (bpp // 8))
                rect = struct.pack(">HHHHi", 0, 0, WIDTH, HEIGHT, 0)      # raw encoding
                writer.write(struct.pack(">BxH", 0, 1) + rect + pixels)
                await writer.drain()
        else:
            return                                           # a message we do not know: hang up


async def serve_serial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, name: str) -> None:
    writer.write(f"nubes fake serial console of {name}\r\n".encode())
    await writer.drain()
    while data := await reader.read(4096):
        writer.write(data)
        await writer.drain()


SERVERS = {"vnc": serve_rfb, "serial": serve_serial}


class FakeConsoles:
    """The console servers of one fake host, one per (guest, kind), started when first asked for."""

    def __init__(self, listen: str, address: str) -> None:
        self.listen = listen
        self.address = address or listen
        self._servers: dict[tuple[str, str], asyncio.Server] = {}
        self._lock = asyncio.Lock()

    async def endpoint(self, guest_id: str, name: str, kind: str) -> ConsoleEndpoint:
        async with self._lock:
            server = self._servers.get((guest_id, kind))
            if server is None:
                serve = SERVERS[kind]

                async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
                    try:
                        await serve(reader, writer, name)
                    except (asyncio.IncompleteReadError, ConnectionError):
                        pass
                    finally:
                        writer.close()
                        with contextlib.suppress(Exception):
                            await writer.wait_closed()

                server = await asyncio.start_server(handle, self.listen, 0)
                self._servers[(guest_id, kind)] = server
        port = server.sockets[0].getsockname()[1]
        return ConsoleEndpoint(host=self.address, port=int(port))

    async def close(self, guest_id: str) -> None:
        """The guest is gone (or stopped): its console servers stop listening."""
        for key in [k for k in self._servers if k[0] == guest_id]:
            server = self._servers.pop(key)
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"FakeConsoles({self.listen!r}, {sorted(self._servers)!r})"
