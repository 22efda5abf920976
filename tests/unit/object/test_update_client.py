"""The storage servers' updates: their small HTTP/1.1 client against a real socket server."""

import asyncio
import socket

from nubes.object.server import backend
from nubes.object.server.backend import UpdateTarget, send_update


async def _server(answers: list[bytes], seen: list[bytes], close_after: int | None = None):
    """Answers each request with the next of ``answers``; closes a connection after
    ``close_after`` requests on it."""
    async def handle(reader, writer):
        served = 0
        try:
            while answers:
                seen.append(await reader.readuntil(b"\r\n\r\n"))
                writer.write(answers.pop(0))
                await writer.drain()
                served += 1
                if close_after is not None and served >= close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, f"127.0.0.1:{server.sockets[0].getsockname()[1]}"


def test_updates_reuse_connections_and_report_the_status():
    async def main():
        seen: list[bytes] = []
        ok = b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"
        gone = b"HTTP/1.1 404 Not Found\r\ncontent-length: 10\r\n\r\nNot Found\n"
        server, host = await _server([ok, gone, b"HTTP/1.1 204 No Content\r\n\r\n"], seen)
        target = UpdateTarget(host, "d1", "7")
        headers = {"X-Timestamp": "1700000000.00000", "X-Size": "3"}
        assert await send_update(target, "PUT", "/a/c/o w", headers, 2)
        assert not await send_update(target, "PUT", "/a/c/o", headers, 2)
        assert await send_update(target, "DELETE", "/a/c/o", {"X-Timestamp": "1"}, 2)
        assert len(backend._IDLE[asyncio.get_running_loop()][host]) == 1     # one connection
        assert seen[0].startswith(b"PUT /d1/7/a/c/o%20w HTTP/1.1\r\n")
        assert b"\r\nX-Size: 3\r\n" in seen[0] and b"\r\nContent-Length: 0\r\n" in seen[0]
        await backend.close_update_client()
        server.close()

    asyncio.run(main())


def test_a_connection_closed_by_the_server_is_replaced():
    async def main():
        seen: list[bytes] = []
        ok = b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"
        server, host = await _server([ok, ok], seen, close_after=1)
        target = UpdateTarget(host, "d1", "7")
        assert await send_update(target, "PUT", "/a/c/o", {"X-Timestamp": "1"}, 2)
        await asyncio.sleep(0.05)       # the server has closed that connection
        assert await send_update(target, "PUT", "/a/c/o", {"X-Timestamp": "2"}, 2)
        assert len(seen) == 2
        await backend.close_update_client()
        server.close()

    asyncio.run(main())


def test_failures_are_false_never_raised():
    async def main():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            free = f"127.0.0.1:{s.getsockname()[1]}"
        assert not await send_update(UpdateTarget(free, "d1", "1"), "PUT", "/a/c", {}, 1)
        seen: list[bytes] = []
        server, host = await _server([b"garbage\r\n\r\n"], seen)
        assert not await send_update(UpdateTarget(host, "d1", "1"), "PUT", "/a/c", {}, 1)
        assert not await send_update(UpdateTarget(host, "d1", "1"), "PUT", "/a/c",
                                     {"X-Bad": "a\r\nX-Injected: 1"}, 1)
        silent, quiet = await _server([], [])         # accepts, closes without an answer
        assert not await send_update(UpdateTarget(quiet, "d1", "1"), "PUT", "/a/c", {}, 0.2)
        await backend.close_update_client()
        server.close()
        silent.close()

    asyncio.run(main())
