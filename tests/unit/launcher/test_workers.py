"""The shared listening socket of `nubes serve --workers N`."""

from __future__ import annotations

import socket

from nubes.launcher.workers import bind


def test_listening_socket_turns_nagle_off_for_accepted_connections():
    # asyncio disables Nagle only on accepted sockets whose proto is TCP; without it every
    # response of a worker waited for the client's delayed ACK (~40 ms each).
    sock = bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        client = socket.create_connection(sock.getsockname())
        conn, _ = sock.accept()
        assert conn.proto == socket.IPPROTO_TCP
        assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        conn.close()
        client.close()
    finally:
        sock.close()
