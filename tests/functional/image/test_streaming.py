"""Image data streams: a client that vanishes mid-upload, and over 1 GiB uploaded in bounded memory."""

from __future__ import annotations

import hashlib
import socket
import threading
import time

import httpx
import psutil
import pytest

from tests.functional.image.conftest import store_files

MIB = 1024 * 1024


def test_client_disconnect_mid_upload(api, image_cloud):
    img = api.create(disk_format="raw", container_format="bare")
    host, port = "127.0.0.1", image_cloud.ports["image"]
    head = (f"PUT /v2/images/{img['id']}/file HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"X-Auth-Token: {api.token}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {64 * MIB}\r\n\r\n").encode()
    with socket.create_connection((host, port)) as sock:
        sock.sendall(head)
        for _ in range(12):                           # 12 MiB of 64: enough to have reached the disk
            sock.sendall(b"\7" * MIB)
        seen_saving = False
        for _ in range(200):
            if api("GET", f"/v2/images/{img['id']}").json()["status"] == "saving":
                seen_saving = True
                break
            time.sleep(0.02)
        assert seen_saving
    # The socket is closed: the server must notice, drop the partial data and requeue the image.
    for _ in range(400):
        status = api("GET", f"/v2/images/{img['id']}").json()["status"]
        if status == "queued":
            break
        time.sleep(0.05)
    assert status == "queued"
    assert not any(img["id"] in p.name for p in store_files(image_cloud))
    assert api.upload(img["id"], b"second try").status_code == 204
    assert api("GET", f"/v2/images/{img['id']}/file").content == b"second try"


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.proc.memory_info().rss)
            self._stop.wait(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@pytest.mark.slow
def test_upload_over_1gib_in_bounded_memory(api, image_cloud, tmp_path):
    size = (1 << 30) + 3 * MIB + 5
    src = tmp_path / "sparse.raw"
    with open(src, "wb") as f:
        f.truncate(size)                              # sparse: costs no disk on the client side
    img = api.create(disk_format="raw", container_format="bare")

    def body():
        with open(src, "rb") as f:
            while chunk := f.read(MIB):
                yield chunk

    with RssSampler(image_cloud.proc.pid) as up:
        r = httpx.put(f"{api.url}/v2/images/{img['id']}/file", content=body(), timeout=600,
                      headers={"X-Auth-Token": api.token, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    assert up.peak - up.base < 150 * MIB, f"server RSS grew by {(up.peak - up.base) / MIB:.0f} MiB"
    shown = api("GET", f"/v2/images/{img['id']}").json()
    assert shown["size"] == size and shown["virtual_size"] == size and shown["status"] == "active"

    md5, got = hashlib.md5(), 0
    with (RssSampler(image_cloud.proc.pid) as down,
          httpx.stream("GET", f"{api.url}/v2/images/{img['id']}/file", timeout=600,
                       headers={"X-Auth-Token": api.token}) as resp):
        assert resp.status_code == 200 and resp.headers["content-md5"] == shown["checksum"]
        for chunk in resp.iter_raw(4 * MIB):
            got += len(chunk)
            md5.update(chunk)
    assert got == size and md5.hexdigest() == shown["checksum"]
    assert down.peak - down.base < 150 * MIB, f"server RSS grew by {(down.peak - down.base) / MIB:.0f} MiB"
    assert api("DELETE", f"/v2/images/{img['id']}").status_code == 204
