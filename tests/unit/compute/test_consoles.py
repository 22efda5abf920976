"""Remote consoles below the API: the fake driver's RFB and serial servers, the token store (one-time,
expiring, hashed) and the websocket proxy relaying to them, on a temporary SQLite database and a
proxy served by uvicorn on a free loopback port."""

from __future__ import annotations

import asyncio
import socket
import struct
import uuid
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import uvicorn
import websockets
from sqlalchemy import select, update

from nubes.compute import exceptions as exc
from nubes.compute.conf import ComputeConfig
from nubes.compute.consoleproxy import ConsoleProxy
from nubes.compute.db.models import Base, ConsoleAuthToken, Instance
from nubes.compute.db.queries import instances as qi
from nubes.compute.drivers.base import ConsoleUnavailable
from nubes.compute.drivers.fake import FakeDriver
from nubes.compute.service.consoles import Consoles, token_hash
from nubes.core.db.base import utcnow
from nubes.core.db.session import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Bus:
    """The agent's side of ``get_console``: the fake driver answers."""

    def __init__(self, driver: FakeDriver) -> None:
        self.driver = driver

    async def call(self, topic: str, method: str, payload: dict, timeout: float = 0) -> dict:
        assert method == "get_console"
        ep = await self.driver.get_console(payload["instance"], payload["kind"])
        return {"host": ep.host, "port": ep.port, "internal_access_path": ep.internal_access_path}


class Actions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def visible(self, s, ctx, instance_id):
        row = await qi.get(s, instance_id)
        if row is None or row.project_id != ctx.project_id:
            raise exc.InstanceNotFound(instance_id)
        return row


@pytest.fixture
async def world(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/compute.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    conf = ComputeConfig(novncproxy_port=free_port(), serialproxy_port=free_port())
    driver = FakeDriver("fake-1", conf)
    sid = str(uuid.uuid4())
    await driver.spawn({"id": sid, "display_name": "vm1", "flavor": {"vcpus": 1, "memory_mb": 64, "root_gb": 1}},
                       {"id": "img"}, [])
    async with db.session() as s:
        s.add(Instance(id=sid, project_id="p1", user_id="u1", flavor={}, host="fake-1", vm_state="active"))
    state = SimpleNamespace(db=db, conf=conf, bus=Bus(driver),
                            rt=SimpleNamespace(conf=SimpleNamespace(core=SimpleNamespace(public_host="127.0.0.1"))))
    state.consoles = Consoles(state, Actions(db))
    servers = []
    for proxy, port in ((ConsoleProxy(state, "novncproxy", ("novnc",)), conf.novncproxy_port),
                        (ConsoleProxy(state, "serialproxy", ("serial",)), conf.serialproxy_port)):
        server = uvicorn.Server(uvicorn.Config(proxy, host="127.0.0.1", port=port, log_config=None,
                                               lifespan="on"))
        task = asyncio.create_task(server.serve())
        servers.append((server, task))
    while not all(s.started for s, _ in servers):
        await asyncio.sleep(0.01)
    yield SimpleNamespace(db=db, conf=conf, driver=driver, sid=sid, state=state,
                          ctx=SimpleNamespace(project_id="p1", is_admin=False))
    for server, task in servers:
        server.should_exit = True
        await task
    await driver.destroy({"id": sid}, [])
    await db.close()


def ws_url(console_url: str) -> str:
    """The websocket a noVNC page at ``console_url`` opens (its ``path`` parameter)."""
    parts = urlsplit(console_url)
    path = parse_qs(parts.query)["path"][0]
    return f"ws://{parts.netloc}/{path}"


async def rfb_handshake(ws) -> tuple[bytes, int, int, bytes]:
    version = await ws.recv()
    await ws.send(b"RFB 003.008\n")
    types = await ws.recv()
    assert types == b"\x01\x01"
    await ws.send(b"\x01")
    assert await ws.recv() == struct.pack(">I", 0)
    await ws.send(b"\x01")
    init = await ws.recv()
    width, height = struct.unpack(">HH", init[:4])
    (length,) = struct.unpack(">I", init[20:24])
    return version, width, height, init[24:24 + length]


async def test_a_vnc_token_opens_the_fake_rfb_server_once(world):
    console = await world.state.consoles.open(world.ctx, world.sid, "novnc")
    assert console.url.startswith(f"http://127.0.0.1:{world.conf.novncproxy_port}/vnc_auto.html?path=%3Ftoken%3D")
    async with websockets.connect(ws_url(console.url), subprotocols=["binary"]) as ws:
        assert ws.subprotocol == "binary"
        version, width, height, name = await rfb_handshake(ws)
        assert version == b"RFB 003.008\n" and (width, height) == (64, 48) and b"vm1" in name
        await ws.send(bytes([3, 0]) + struct.pack(">HHHH", 0, 0, width, height))   # a full update
        update_msg = await ws.recv()
        while len(update_msg) < 16 + width * height * 4:
            update_msg += await ws.recv()
        assert update_msg[:4] == b"\x00\x00\x00\x01"
    # used once: the same URL is refused before the websocket opens
    with pytest.raises(websockets.InvalidStatus) as e:
        async with websockets.connect(ws_url(console.url)):
            pass
    assert e.value.response.status_code == 403


async def test_tokens_are_stored_hashed_and_expire(world):
    console = await world.state.consoles.open(world.ctx, world.sid, "novnc")
    token = parse_qs(parse_qs(urlsplit(console.url).query)["path"][0].lstrip("?"))["token"][0]
    async with world.db.reader() as s:
        rows = (await s.execute(select(ConsoleAuthToken))).scalars().all()
    assert [r.token_hash for r in rows] == [token_hash(token)] and token not in repr(
        [(r.token_hash, r.host, r.internal_access_path) for r in rows])
    assert rows[0].expires - rows[0].created_at == timedelta(seconds=600)
    assert (await world.state.consoles.show(token)).port == rows[0].port      # a look-up does not use it
    async with world.db.session() as s:
        await s.execute(update(ConsoleAuthToken).values(expires=utcnow() - timedelta(seconds=1)))
    with pytest.raises(exc.InvalidConsoleToken):
        await world.state.consoles.show(token)
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(ws_url(console.url)):
            pass
    # an expired token is swept when the next console is opened
    await world.state.consoles.open(world.ctx, world.sid, "novnc")
    async with world.db.reader() as s:
        hashes = (await s.execute(select(ConsoleAuthToken.token_hash))).scalars().all()
    assert token_hash(token) not in hashes and len(hashes) == 1


async def test_the_serial_proxy_relays_to_the_echoing_port_and_refuses_vnc_tokens(world):
    serial = await world.state.consoles.open(world.ctx, world.sid, "serial")
    assert serial.url.startswith(f"ws://127.0.0.1:{world.conf.serialproxy_port}/?token=")
    vnc = await world.state.consoles.open(world.ctx, world.sid, "novnc")
    token = parse_qs(parse_qs(urlsplit(vnc.url).query)["path"][0].lstrip("?"))["token"][0]
    with pytest.raises(websockets.InvalidStatus):    # a VNC token on the serial proxy
        async with websockets.connect(f"ws://127.0.0.1:{world.conf.serialproxy_port}/?token={token}"):
            pass
    async with websockets.connect(ws_url(vnc.url)) as ws:   # ... and it was not used by that
        assert await ws.recv() == b"RFB 003.008\n"
    async with websockets.connect(serial.url) as ws:
        assert b"vm1" in await ws.recv()
        await ws.send("echo me\r")
        assert await ws.recv() == b"echo me\r"


async def test_origin_cookie_and_unknown_paths(world):
    console = await world.state.consoles.open(world.ctx, world.sid, "novnc")
    url = ws_url(console.url)
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(url, origin="http://evil.example"):
            pass
    token = url.split("token=", 1)[1]
    base = f"ws://127.0.0.1:{world.conf.novncproxy_port}"
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(f"{base}/elsewhere?token={token}"):
            pass
    # older noVNC: the token as a cookie, at /websockify; an Origin of the proxy's own host is fine
    async with websockets.connect(f"{base}/websockify", origin=f"http://127.0.0.1:{world.conf.novncproxy_port}",
                                  additional_headers={"Cookie": f"token={token}"}) as ws:
        assert await ws.recv() == b"RFB 003.008\n"


async def test_a_stopped_or_deleted_server_has_no_console(world):
    await world.driver.power_off({"id": world.sid})
    with pytest.raises(ConsoleUnavailable):
        await world.driver.get_console({"id": world.sid}, "vnc")
    await world.driver.power_on({"id": world.sid})
    console = await world.state.consoles.open(world.ctx, world.sid, "serial")
    async with world.db.session() as s:
        row = await s.get(Instance, world.sid)
        row.deleted = True
    with pytest.raises(websockets.InvalidStatus):
        async with websockets.connect(console.url):
            pass
    with pytest.raises(exc.InstanceNotFound):
        await world.state.consoles.open(world.ctx, world.sid, "serial")


async def test_unserved_console_types(world):
    for kind in ("xvpvnc", "spice-html5", "rdp-html5", "webmks"):
        with pytest.raises(exc.ConsoleTypeUnavailable, match=f"Unavailable console type {kind}."):
            await world.state.consoles.open(world.ctx, world.sid, kind)
    with pytest.raises(exc.ConsoleTypeInvalid):
        await world.state.consoles.open(world.ctx, world.sid, "serial", protocol="vnc")
    world.conf.serialproxy_port = 0                  # the serial proxy turned off
    with pytest.raises(exc.ConsoleTypeUnavailable):
        await world.state.consoles.open(world.ctx, world.sid, "serial")
