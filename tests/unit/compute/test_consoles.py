"""Remote consoles below the API: the fake driver's RFB and serial servers, the token store (one-time,
expiring, hashed) and the websocket proxy relaying to them, on a temporary SQLite database and a
proxy served by uvicorn on a free loopback port."""

from __future__ import annotations

import struct
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets
from sqlalchemy import select, update

from nubes.compute import exceptions as exc
from nubes.compute.conf import ComputeConfig
from nubes.compute.db.models import ConsoleAuthToken, Instance
from nubes.compute.drivers.base import ConsoleUnavailable
from nubes.compute.drivers.fake import FakeDriver
from nubes.compute.service.consoles import token_hash
from nubes.core.db.base import utcnow
from tests.consoles_world import console_world, novnc_websocket, rfb_handshake


@pytest.fixture
async def world(tmp_path):
    web = tmp_path / "novnc"
    (web / "core").mkdir(parents=True)
    (web / "vnc_auto.html").write_text("<html>noVNC</html>")
    (web / "core" / "rfb.js").write_text("export default class RFB {}")
    (tmp_path / "secret.txt").write_text("not for browsers")
    conf = ComputeConfig()
    driver = FakeDriver("fake-1", conf)
    sid = str(uuid.uuid4())
    flavor = {"vcpus": 1, "memory_mb": 64, "root_gb": 1}
    await driver.spawn({"id": sid, "display_name": "vm1", "flavor": flavor}, {"id": "img"}, [])
    async with console_world(tmp_path, driver, sid, conf, web) as w:
        yield w
    await driver.destroy({"id": sid}, [])


ws_url = novnc_websocket


async def test_a_vnc_token_opens_the_fake_rfb_server_once(world):
    console = await world.state.consoles.open(world.ctx, world.sid, "novnc")
    base = f"http://127.0.0.1:{world.conf.novncproxy_port}"
    assert console.url.startswith(f"{base}/vnc_auto.html?path=%3Ftoken%3D")
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
    own = f"http://127.0.0.1:{world.conf.novncproxy_port}"
    async with websockets.connect(f"{base}/websockify", origin=own,
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


async def test_the_novnc_proxy_serves_novncs_files_and_nothing_else(world, tmp_path):
    base = f"http://127.0.0.1:{world.conf.novncproxy_port}"
    async with httpx.AsyncClient(timeout=10) as c:
        r = await c.get(f"{base}/vnc_auto.html", params={"path": "?token=x"})
        assert r.status_code == 200 and r.text == "<html>noVNC</html>" and "html" in r.headers["content-type"]
        r = await c.get(f"{base}/core/rfb.js")
        assert r.status_code == 200 and "javascript" in r.headers["content-type"]
        assert (await c.get(f"{base}/healthcheck")).status_code == 200
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/nothing.html"):
            r = await c.get(f"{base}{path}")
            assert r.status_code == 404 and "not for browsers" not in r.text, path
        assert (await c.post(f"{base}/vnc_auto.html")).status_code == 405
        # the serial proxy has no files: its 404 says where its websocket is
        r = await c.get(f"http://127.0.0.1:{world.conf.serialproxy_port}/vnc_auto.html")
        assert r.status_code == 404 and "/?token=" in r.text


async def test_without_novnc_installed_the_page_says_so(tmp_path):
    from nubes.compute.consoleproxy import ConsoleProxy

    proxy = ConsoleProxy(None, "novncproxy", ("novnc",), tmp_path / "no-novnc-here")
    sent = []

    async def send(message):
        sent.append(message)

    await proxy({"type": "http", "method": "GET", "path": "/vnc_auto.html"}, None, send)
    assert sent[0]["status"] == 404 and b"novnc" in sent[1]["body"]


async def test_a_server_without_a_host_or_still_building_is_not_ready(world):
    for changes in ({"host": None}, {"vm_state": "building"}, {"task_state": "deleting"}):
        async with world.db.session() as s:
            row = await s.get(Instance, world.sid)
            saved = {k: getattr(row, k) for k in changes}
            for k, v in changes.items():
                setattr(row, k, v)
        with pytest.raises(exc.InstanceNotReady):
            await world.state.consoles.open(world.ctx, world.sid, "novnc")
        async with world.db.session() as s:
            row = await s.get(Instance, world.sid)
            for k, v in saved.items():
                setattr(row, k, v)
    assert (await world.state.consoles.open(world.ctx, world.sid, "novnc")).url
