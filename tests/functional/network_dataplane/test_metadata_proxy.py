"""The metadata proxy's HTTP handling on its own (no namespaces, no root): a request from an
instance's address reaches a stand-in for compute's metadata API with Neutron's headers and
signature, bodies and methods pass through, the instance's own claims are replaced, an address
that is no instance's gets 404, and an unreachable metadata API is a 500 rather than a hang.
The data-plane tests check the same through real router and DHCP namespaces."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from pathlib import Path
from typing import Any

import httpx
import pytest

from nubes.core.exceptions import NotFound
from nubes.network.agent.base import AgentContext, AgentSettings, HostStateSource
from nubes.network.agent.metadata_proxy import MetadataAgent
from tests.functional.network_dataplane.conftest import MetadataServer

SECRET = "proxy-secret"
PORTS = {("router", "r1", "10.0.0.5"): {"id": "p1", "device_id": "vm-1", "project_id": "proj-1"}}


class FakeServer:
    """``network.server`` as far as the proxy asks it: ``find_port``."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    async def call(self, method: str, **payload: Any) -> Any:
        assert method == "find_port"
        self.asked.append(payload)
        kind, ident = ("router", payload["router_id"]) if "router_id" in payload else ("network", payload["network_id"])
        port = PORTS.get((kind, ident, payload["ip"]))
        if port is None:
            raise NotFound(f"No port with address {payload['ip']}")
        return port


@pytest.fixture
def api():
    server = MetadataServer()
    yield server
    server.close()


async def _proxy(tmp_path: Path, metadata_url: str, peer: str):
    """The agent's request handler on a loopback listener, told the request came from ``peer``."""
    settings = AgentSettings(host="h1", state_path=tmp_path, metadata_url=metadata_url, metadata_secret=SECRET)
    fake = FakeServer()
    agent = MetadataAgent(AgentContext(settings, fake, HostStateSource(fake, "h1")))  # type: ignore[arg-type]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        original = writer.get_extra_info
        writer.get_extra_info = lambda name, default=None: (peer, 0) if name == "peername" else original(name, default)
        await agent._serve("router", "r1", reader, writer)

    listener = await asyncio.start_server(handle, "127.0.0.1", 0)
    return agent, fake, listener, f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"


async def test_forwards_signed_with_the_instance_headers(tmp_path, api):
    agent, fake, listener, url = await _proxy(tmp_path, api.url, "10.0.0.5")
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{url}/openstack/latest/meta_data.json",
                                 headers={"X-Instance-ID": "someone-else", "X-Instance-ID-Signature": "forged",
                                          "Accept": "application/json"})
            assert r.status_code == 200 and r.json() == {"uuid": "vm-1"}
            got = api.seen[-1]
            assert got["path"] == "/openstack/latest/meta_data.json" and got["method"] == "GET"
            h = got
            assert h["x-instance-id"] == "vm-1" and h["x-tenant-id"] == "proj-1" and h["x-forwarded-for"] == "10.0.0.5"
            assert h["x-instance-id-signature"] == hmac.new(SECRET.encode(), b"vm-1", hashlib.sha256).hexdigest()
            assert h["accept"] == "application/json"
            assert fake.asked == [{"ip": "10.0.0.5", "router_id": "r1"}]
            # a body and another method pass through (the password POST), statuses too
            r = await client.post(f"{url}/openstack/latest/password", content=b"secret-blob")
            assert r.status_code == 200 and api.seen[-1]["method"] == "POST" and api.seen[-1]["body"] == b"secret-blob"
            assert (await client.get(f"{url}/missing")).status_code == 404
    finally:
        listener.close()
        await agent.shutdown()


async def test_an_address_that_is_no_instance_gets_404_a_bad_request_400(tmp_path, api):
    agent, _fake, listener, url = await _proxy(tmp_path, api.url, "10.0.0.99")
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{url}/latest/meta-data/")
        assert r.status_code == 404 and api.seen == []
        reader, writer = await asyncio.open_connection(*listener.sockets[0].getsockname()[:2])
        writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        await writer.drain()
        assert (await reader.readline()).startswith(b"HTTP/1.1 400")
        writer.close()
        assert api.seen == []
    finally:
        listener.close()
        await agent.shutdown()


async def test_an_unreachable_metadata_api_is_a_500(tmp_path):
    agent, _fake, listener, url = await _proxy(tmp_path, "http://127.0.0.1:9", "10.0.0.5")
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(f"{url}/latest/meta-data/")
        assert r.status_code == 500 and b"internal server error" in r.content
    finally:
        listener.close()
        await agent.shutdown()
