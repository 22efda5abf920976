"""The storage servers on temporary devices: in-process clients, and a real container server on
a free loopback port for the updates the object server sends. For the proxy's tests: an
all-in-one with identity and object storage per module (``cloud``; a module may define its own)
and a member of a project of its own (``owner``)."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from nubes.object.hashing import HashSecret
from nubes.object.server.account_server import AccountServer
from nubes.object.server.backend import Devices
from nubes.object.server.container_server import ContainerServer
from nubes.object.server.object_server import ObjectServer
from tests.cloud import new_user, start_cloud, stop_cloud

SECRET = HashSecret(b"pre", b"suf")


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    c = start_cloud(tmp_path_factory.mktemp("object"), services="identity,object",
                    names=("identity", "object"))
    yield c
    stop_cloud(c)


@pytest.fixture(scope="module")
def owner(cloud, tmp_path_factory):
    return new_user(cloud, tmp_path_factory.mktemp("owner"), "member")


@pytest.fixture
def devices(tmp_path):
    (tmp_path / "sda").mkdir()
    return Devices(tmp_path, mount_check=False, reserve="0")


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://storage")


@pytest.fixture
async def objects(devices):
    async with client(ObjectServer(devices, SECRET, node_timeout=2).app()) as c:
        yield c


@pytest.fixture
async def containers(devices):
    async with client(ContainerServer(devices, SECRET).app()) as c:
        yield c


@pytest.fixture
async def accounts(devices):
    async with client(AccountServer(devices, SECRET).app()) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served():
    """Start an app on a loopback port in a thread: ``served(app) -> "127.0.0.1:port"``."""
    servers = []

    def start(app) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        servers.append((server, thread))
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.01)
        return f"127.0.0.1:{port}"

    yield start
    for server, thread in servers:
        server.should_exit = True
        thread.join(10)
