"""Tiny network probes run inside a test namespace: a TCP server that answers with the peer's address,
a client, an HTTP GET, and TCP and UDP echo servers with clients that keep one flow busy (to see a
flow live through something, and lose nothing). Bounded in time; used through ``ip netns exec <ns> python netcheck.py ...``."""

from __future__ import annotations

import socket
import sys
import urllib.request


def serve(port: int, seconds: float) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    srv.settimeout(seconds)
    print("listening", flush=True)
    try:
        while True:
            conn, peer = srv.accept()
            with conn:
                conn.sendall(f"peer={peer[0]}\n".encode())
    except TimeoutError:
        pass


def connect(host: str, port: int, timeout: float) -> int:
    try:
        with socket.create_connection((host, port), timeout=timeout) as c:
            c.settimeout(timeout)
            print(c.recv(200).decode().strip())
        return 0
    except OSError as exc:
        print(f"failed: {exc}")
        return 1


def http_get(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as res:
            print(res.status, res.read().decode(errors="replace"))
        return 0
    except Exception as exc:  # noqa: BLE001 - the probe reports whatever went wrong
        print(f"failed: {exc}")
        return 1


def echo(port: int, seconds: float) -> None:
    import threading

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(16)
    srv.settimeout(seconds)

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(seconds)
            try:
                while data := conn.recv(4096):
                    conn.sendall(data)
            except OSError:
                pass

    print("listening", flush=True)
    try:
        while True:
            conn, _ = srv.accept()
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()
    except TimeoutError:
        pass


def stream(host: str, port: int, seconds: float, interval: float = 0.05) -> int:
    """One connection, a line every ``interval`` for ``seconds``, each echoed back within 2 s."""
    import time

    sent = 0
    try:
        with socket.create_connection((host, port), timeout=2) as c:
            c.settimeout(2)
            print("connected", flush=True)
            end = time.monotonic() + seconds
            reader = c.makefile("rb")
            while time.monotonic() < end:
                c.sendall(f"{sent}\n".encode())
                if reader.readline().strip() != str(sent).encode():
                    raise OSError(f"line {sent} came back wrong")
                sent += 1
                time.sleep(interval)
    except OSError as exc:
        print(f"failed after {sent} lines: {exc}", flush=True)
        return 1
    print(f"ok {sent}", flush=True)
    return 0


def udp_echo(port: int, seconds: float) -> None:
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("0.0.0.0", port))
    srv.settimeout(seconds)
    print("listening", flush=True)
    try:
        while True:
            data, peer = srv.recvfrom(2048)
            srv.sendto(data, peer)
    except TimeoutError:
        pass


def udp_stream(host: str, port: int, seconds: float, interval: float = 0.02) -> int:
    """A datagram every ``interval`` for ``seconds`` from one socket (one flow); every one must come back."""
    import select
    import time

    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.connect((host, port))
    sent, got = 0, set()
    print("connected", flush=True)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        c.send(str(sent).encode())
        sent += 1
        while select.select([c], [], [], interval)[0]:
            try:
                got.add(int(c.recv(64)))
            except (OSError, ValueError):
                break
    c.settimeout(5)                 # late answers still count
    try:
        while len(got) < sent:
            got.add(int(c.recv(64)))
    except (OSError, ValueError):
        pass
    lost = sorted(set(range(sent)) - got)
    if lost:
        print(f"lost {len(lost)} of {sent} datagrams (first {lost[:5]})", flush=True)
        return 1
    print(f"ok {sent}", flush=True)
    return 0


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "serve":
        serve(int(args[0]), float(args[1]))
    elif cmd == "connect":
        sys.exit(connect(args[0], int(args[1]), float(args[2])))
    elif cmd == "echo":
        echo(int(args[0]), float(args[1]))
    elif cmd == "stream":
        sys.exit(stream(args[0], int(args[1]), float(args[2])))
    elif cmd == "udp-echo":
        udp_echo(int(args[0]), float(args[1]))
    elif cmd == "udp-stream":
        sys.exit(udp_stream(args[0], int(args[1]), float(args[2])))
    elif cmd == "get":
        sys.exit(http_get(args[0], float(args[1])))
