"""Remote consoles on a full cloud with fake hosts: `openstack console url show --novnc|--serial`, then
the URL's websocket through the cloud's own proxies to the fake driver's RFB server (the ``RFB 003.008``
banner and handshake, as noVNC sees it) and serial port; a token used once, another project's server
404, admins' os-console-auth-tokens, and the microversions where each API lives (Nova's answers)."""

from __future__ import annotations

import asyncio
import struct
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import websockets

from tests.cloud import new_user
from tests.functional.compute.conftest import ComputeApi, make_member, unique
from tests.functional.compute.servers_fixtures import boot_body, make_world, wait_status


@pytest.fixture(scope="module")
def world(full_cloud, tmp_path_factory):
    return make_world(full_cloud, tmp_path_factory.mktemp("consoles"))


@pytest.fixture(scope="module")
def owner(full_cloud, tmp_path_factory):
    return make_member(full_cloud, tmp_path_factory.mktemp("console-owner"))


@pytest.fixture(scope="module")
def server(owner, world):
    name = unique("console")
    r = owner.api("POST", "/servers", json=boot_body(world, name))
    assert r.status_code == 202, r.text
    sid = r.json()["server"]["id"]
    assert wait_status(owner.api, sid)["status"] == "ACTIVE"
    return sid, name


def novnc_websocket(url: str) -> str:
    """The websocket noVNC's page at ``url`` opens: its ``path`` parameter, on the page's host."""
    parts = urlsplit(url)
    assert parts.path == "/vnc_auto.html"
    return f"ws://{parts.netloc}/{parse_qs(parts.query)['path'][0]}"


def token_of(url: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    if "path" in query:
        query = parse_qs(urlsplit(query["path"][0]).query)
    return query["token"][0]


async def _rfb(ws_url: str) -> tuple[bytes, bytes]:
    """Connect as noVNC does (subprotocol binary) and go through the RFB handshake: (banner, ServerInit)."""
    async with websockets.connect(ws_url, subprotocols=["binary"], open_timeout=30) as ws:
        assert ws.subprotocol == "binary"
        banner = await ws.recv()
        await ws.send(b"RFB 003.008\n")
        assert await ws.recv() == b"\x01\x01"             # one security type: None
        await ws.send(b"\x01")
        assert await ws.recv() == struct.pack(">I", 0)    # SecurityResult: OK
        await ws.send(b"\x01")                            # ClientInit, shared
        return banner, await ws.recv()


async def _refused(ws_url: str) -> int:
    try:
        async with websockets.connect(ws_url, open_timeout=30):
            pass
    except websockets.InvalidStatus as e:
        return e.response.status_code
    raise AssertionError(f"{ws_url} was not refused")


async def _serial(ws_url: str) -> tuple[bytes, bytes]:
    async with websockets.connect(ws_url, open_timeout=30) as ws:
        greeting = await ws.recv()
        await ws.send(b"uname -a\r")
        return greeting, await ws.recv()


def test_novnc_console_through_the_cli_and_the_proxy(full_cloud, owner, server):
    sid, name = server
    console = owner.osc("console", "url", "show", "--novnc", name)
    assert console["type"] == "novnc"
    url = console["url"]
    assert url.startswith(f"http://127.0.0.1:{full_cloud.ports['compute-novncproxy']}/vnc_auto.html"
                          "?path=%3Ftoken%3D")
    banner, init = asyncio.run(_rfb(novnc_websocket(url)))
    assert banner == b"RFB 003.008\n"
    width, height = struct.unpack(">HH", init[:4])
    assert (width, height) == (64, 48) and name.encode() in init[24:]
    # the token is used once: the same URL again is refused before the websocket opens
    assert asyncio.run(_refused(novnc_websocket(url))) == 403
    # ... and each new URL is a new token
    again = owner.osc("console", "url", "show", "--novnc", name)["url"]
    assert token_of(again) != token_of(url)
    assert asyncio.run(_rfb(novnc_websocket(again)))[0] == b"RFB 003.008\n"
    # the tokens are in no log line
    log = full_cloud.log_path.read_text(errors="replace")
    assert token_of(url) not in log and token_of(again) not in log


def test_serial_console_through_the_cli_and_the_proxy(full_cloud, owner, server):
    sid, name = server
    console = owner.osc("console", "url", "show", "--serial", name)
    assert console["type"] == "serial"
    assert console["url"].startswith(f"ws://127.0.0.1:{full_cloud.ports['compute-serialproxy']}/?token=")
    greeting, echo = asyncio.run(_serial(console["url"]))
    assert name.encode() in greeting and echo == b"uname -a\r"
    assert asyncio.run(_refused(console["url"])) == 403
    # a serial token is no VNC token
    other = owner.osc("console", "url", "show", "--serial", name)["url"]
    vnc = f"ws://127.0.0.1:{full_cloud.ports['compute-novncproxy']}/?token={token_of(other)}"
    assert asyncio.run(_refused(vnc)) == 403
    # the look-up of an unused token on the wrong proxy did not use it
    assert asyncio.run(_serial(other))[1] == b"uname -a\r"


def test_another_projects_server_is_not_found(full_cloud, owner, server, tmp_path):
    sid, name = server
    stranger = make_member(full_cloud, tmp_path)
    res = stranger.osc("console", "url", "show", "--novnc", sid, check=False)
    assert res.returncode != 0 and f"No Server found for {sid}" in res.stderr
    rc = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
    for version, path, body in (("2.5", "/action", {"os-getVNCConsole": {"type": "novnc"}}),
                                ("2.5", "/action", {"os-getSerialConsole": {"type": "serial"}}),
                                ("2.6", "/remote-consoles", rc)):
        r = stranger.api("POST", f"/servers/{sid}{path}", json=body, version=version)
        assert stranger.api.fault(r, 404) == f"Instance {sid} could not be found."
    # a reader of the owner's project sees the server but may not open its console (Nova: member)
    reader = new_user(full_cloud, tmp_path, role="reader")
    full_cloud.osc("role", "add", "--project", owner.project_id, "--user", reader.user_id, "reader",
                   json_out=False)
    api = ComputeApi(full_cloud, _token_for(full_cloud, reader, owner.project_id))
    r = api("POST", f"/servers/{sid}/remote-consoles", json=rc)
    assert api.fault(r, 403)


def _token_for(cloud, user, project_id: str) -> str:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user.user_id, "password": user.password}}},
        "scope": {"project": {"id": project_id}}}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["X-Subject-Token"]


def test_microversions_and_nova_answers(full_cloud, full_api, owner, server):
    sid, _name = server
    api = owner.api
    vnc = {"os-getVNCConsole": {"type": "novnc"}}
    r = api("POST", f"/servers/{sid}/action", json=vnc, version="2.1")
    assert r.status_code == 200, r.text
    assert r.json()["console"]["type"] == "novnc" and "token%3D" in r.json()["console"]["url"]
    r = api("POST", f"/servers/{sid}/action", json={"os-getSerialConsole": {"type": "serial"}}, version="2.5")
    assert r.status_code == 200 and r.json()["console"]["type"] == "serial"
    # removed at 2.6, where remote-consoles begins
    assert "removed at microversion 2.6" in api.fault(api("POST", f"/servers/{sid}/action", json=vnc,
                                                          version="2.6"), 404)
    rc = {"remote_console": {"protocol": "vnc", "type": "novnc"}}
    api.fault(api("POST", f"/servers/{sid}/remote-consoles", json=rc, version="2.5"), 404)
    r = api("POST", f"/servers/{sid}/remote-consoles", json=rc, version="2.6")
    assert r.status_code == 200, r.text
    assert set(r.json()["remote_console"]) == {"protocol", "type", "url"}
    assert r.json()["remote_console"]["protocol"] == "vnc"
    r = api("POST", f"/servers/{sid}/remote-consoles",
            json={"remote_console": {"protocol": "serial", "type": "serial"}})
    assert r.status_code == 200 and r.json()["remote_console"]["url"].startswith("ws://")
    # consoles this cloud does not offer, as Nova answers with them turned off
    for body, kind in (({"remote_console": {"protocol": "spice", "type": "spice-html5"}}, "spice-html5"),
                       ({"remote_console": {"protocol": "rdp", "type": "rdp-html5"}}, "rdp-html5"),
                       ({"remote_console": {"protocol": "mks", "type": "webmks"}}, "webmks"),
                       ({"remote_console": {"protocol": "vnc", "type": "xvpvnc"}}, "xvpvnc")):
        r = api("POST", f"/servers/{sid}/remote-consoles", json=body)
        assert api.fault(r, 400) == f"Unavailable console type {kind}."
    spice = {"os-getSPICEConsole": {"type": "spice-html5"}}
    r = api("POST", f"/servers/{sid}/action", json=spice, version="2.5")
    assert api.fault(r, 400) == "Unavailable console type spice-html5."
    assert api.fault(api("POST", f"/servers/{sid}/remote-consoles",
                         json={"remote_console": {"protocol": "vnc", "type": "serial"}}), 400) == (
        "Invalid console type serial")
    # bad bodies: Nova's schema errors
    for body in ({"remote_console": {"protocol": "vnc"}},
                 {"remote_console": {"protocol": "x", "type": "novnc"}},
                 {"remote_console": {"protocol": "mks", "type": "webmks"}}, {"remote_console": "vnc"}, {}):
        version = "2.7" if body.get("remote_console", {}) == {"protocol": "mks", "type": "webmks"} else None
        r = api("POST", f"/servers/{sid}/remote-consoles", json=body, version=version)
        assert api.fault(r, 400), body
    for body in ({"os-getVNCConsole": {}}, {"os-getVNCConsole": {"type": "serial"}},
                 {"os-getVNCConsole": None}, {"os-getSerialConsole": {"type": "novnc", "x": 1}}):
        assert api.fault(api("POST", f"/servers/{sid}/action", json=body, version="2.5"), 400), body
    full_api.fault(full_api("POST", "/servers/no-such-server/remote-consoles", json=rc), 404)


def test_console_auth_tokens_for_admins(full_cloud, full_api, owner, server):
    sid, name = server
    url = owner.osc("console", "url", "show", "--novnc", name)["url"]
    token = token_of(url)
    r = full_api("GET", f"/os-console-auth-tokens/{token}", version="2.31")
    assert r.status_code == 200, r.text
    info = r.json()["console"]
    assert info["instance_uuid"] == sid and info["host"] == "127.0.0.1" and isinstance(info["port"], int)
    assert set(info) == {"instance_uuid", "host", "port", "internal_access_path"}
    # before 2.31 Nova shows only RDP tokens
    assert full_api.fault(full_api("GET", f"/os-console-auth-tokens/{token}", version="2.30"), 400) == (
        "The requested console type details are not accessible")
    assert owner.api.fault(owner.api("GET", f"/os-console-auth-tokens/{token}"), 403)
    # the look-up did not use the token
    assert asyncio.run(_rfb(novnc_websocket(url)))[0] == b"RFB 003.008\n"
    # a used token (and any unknown one) is not found
    assert full_api.fault(full_api("GET", f"/os-console-auth-tokens/{token}"), 404)
    assert full_api.fault(full_api("GET", "/os-console-auth-tokens/not-a-token"), 404)


def test_a_stopped_server_has_no_console(full_cloud, owner, world):
    name = unique("stopped")
    r = owner.api("POST", "/servers", json=boot_body(world, name))
    sid = r.json()["server"]["id"]
    assert wait_status(owner.api, sid)["status"] == "ACTIVE"
    owner.osc("server", "stop", name, json_out=False)
    deadline = time.monotonic() + 60
    while (s := owner.api("GET", f"/servers/{sid}").json()["server"])["status"] != "SHUTOFF" or s[
            "OS-EXT-STS:task_state"] is not None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    r = owner.api("POST", f"/servers/{sid}/remote-consoles",
                  json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert owner.api.fault(r, 409) == f"Instance {sid} is not ready"
    assert owner.api("DELETE", f"/servers/{sid}").status_code == 204


def test_openstacksdk_console_and_token_lookup(full_cloud, owner, server):
    """openstacksdk's calls: create_console (remote-consoles at its negotiated microversion; its
    get_server_console_url posts the legacy action, which is Nova's 404 there) and, as an admin,
    validate_console_auth_token."""
    import openstack
    from openstack import config

    sid, _name = server
    member = config.OpenStackConfig(config_files=[str(owner.clouds_file)]).get_one("member")
    admin = config.OpenStackConfig(config_files=[str(full_cloud.state_dir / "clouds.yaml")]).get_one("nubes")
    conn, admin_conn = openstack.connection.Connection(config=member), openstack.connection.Connection(config=admin)
    try:
        serial = conn.compute.create_console(sid, console_type="serial")
        assert serial["type"] == "serial" and serial["protocol"] == "serial"
        assert asyncio.run(_serial(serial["url"]))[1] == b"uname -a\r"
        with pytest.raises(openstack.exceptions.NotFoundException):
            conn.compute.get_server_console_url(sid, "serial")
        console = conn.compute.create_console(sid, console_type="novnc")
        assert console["type"] == "novnc" and console["url"].startswith("http://")
        info = admin_conn.compute.validate_console_auth_token(token_of(console["url"]))
        assert info.instance_uuid == sid and info.host == "127.0.0.1" and info.port > 0
        assert asyncio.run(_rfb(novnc_websocket(console["url"])))[0] == b"RFB 003.008\n"
    finally:
        conn.close()
        admin_conn.close()
