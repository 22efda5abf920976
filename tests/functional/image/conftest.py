"""One identity + image cloud for the image tests: two stores, a web-download source, a member project."""

from __future__ import annotations

import http.server
import socketserver
import struct
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud import Cloud, User, new_user, start_cloud, stop_cloud


class ImageApi:
    """Raw HTTP to the image API with one token."""

    def __init__(self, cloud: Cloud, token: str) -> None:
        self.url = cloud.url("image")
        self.token = token

    def __call__(self, method: str, path: str, headers: dict | None = None, **kw: Any) -> httpx.Response:
        h = {"X-Auth-Token": self.token, **(headers or {})}
        return httpx.request(method, self.url + path, headers=h, timeout=60, **kw)

    def create(self, **body: Any) -> dict:
        body.setdefault("name", f"img-{uuid.uuid4().hex[:8]}")
        r = self("POST", "/v2/images", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, image_id: str, data: bytes, **headers: str) -> httpx.Response:
        return self("PUT", f"/v2/images/{image_id}/file", content=data,
                    headers={"Content-Type": "application/octet-stream", **headers})

    def patch(self, image_id: str, ops: list, ctype: str = "application/openstack-images-v2.1-json-patch"):
        return self("PATCH", f"/v2/images/{image_id}", json=ops, headers={"Content-Type": ctype})

    def active(self, data: bytes = b"x" * 4096, **body: Any) -> dict:
        body.setdefault("disk_format", "raw")
        body.setdefault("container_format", "bare")
        img = self.create(**body)
        r = self.upload(img["id"], data)
        assert r.status_code == 204, r.text
        return self("GET", f"/v2/images/{img['id']}").json()


def qcow2_bytes(virtual_size: int, payload: int = 256 * 1024, *, backing: bytes = b"",
                incompatible: int = 0) -> bytes:
    """A qcow2 version 3 header (64 KiB clusters, ``virtual_size`` bytes; a backing file name and
    incompatible feature bits if given) followed by ``payload`` bytes of filler."""
    backing_at = 512 if backing else 0
    header = (b"QFI\xfb" + struct.pack(">IQII", 3, backing_at, len(backing), 16)
              + struct.pack(">QIIQQIIQ", virtual_size, 0, 0, 0, 0x10000, 1, 0, 0)
              + struct.pack(">QQQII", incompatible, 0, 0, 4, 104))
    header = header.ljust(512, b"\0") + backing
    return header.ljust(4096, b"\0") + bytes(range(256)) * (payload // 256)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="package")
def web_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="package")
def web_server(web_root):
    """A local HTTP server for web-download: /allowed/... is on the allow-list, /denied/... is not."""
    (web_root / "allowed").mkdir()
    (web_root / "denied").mkdir()
    handler = lambda *a, **k: _Quiet(*a, directory=str(web_root), **k)  # noqa: E731
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="package")
def image_cloud(tmp_path_factory, web_server):
    state = tmp_path_factory.mktemp("image-state")
    cloud = start_cloud(state, names=("identity", "image"), services="identity,image", extra_env={
        "NUBES_IMAGE__STORES": "fast,slow",
        "NUBES_IMAGE__WEB_DOWNLOAD_ALLOWED": f"{web_server}/allowed/",
        "NUBES_IMAGE__LIMITS_CACHE_TTL": "0",
    })
    yield cloud
    stop_cloud(cloud)


@pytest.fixture(scope="package")
def api(image_cloud) -> ImageApi:
    return ImageApi(image_cloud, image_cloud.token())


class Member:
    """A second project with a user holding the member role there, usable from the CLI and raw HTTP."""

    def __init__(self, user: User) -> None:
        self.cloud = user.cloud
        self.project_id = user.project_id
        self.clouds_file = user.clouds_file
        self.env = user.env
        self.osc = user.osc
        self.api = ImageApi(user.cloud, user.token)


@pytest.fixture(scope="package")
def member(image_cloud, tmp_path_factory) -> Member:
    return Member(new_user(image_cloud, tmp_path_factory.mktemp("member")))


def store_files(cloud: Cloud) -> list[Path]:
    """Every file in the image stores and the staging area (partial files included)."""
    roots = [cloud.state_dir / "images", cloud.state_dir / "image-staging"]
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())
