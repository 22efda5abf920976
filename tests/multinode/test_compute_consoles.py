"""Remote consoles across processes: the console proxy runs on the controller (`nubes up` with no
agents), the guest's console on a compute node (`nubes agent compute`, fake driver) listening on
the address that node is configured with; the token's connection info carries that address, and the
controller's proxy reaches it."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.consoles_world import novnc_websocket, token_of
from tests.multinode.nodes import MultiNode, boot, make_world

pytestmark = [pytest.mark.rabbitmq, pytest.mark.multinode]


async def _banner(url: str) -> bytes:
    async with websockets.connect(url, subprotocols=["binary"], open_timeout=30) as ws:
        return await ws.recv()


def test_the_controllers_proxy_reaches_the_console_on_the_compute_node(mn: MultiNode):
    mn.start_controller()
    world = make_world(mn)
    # the compute node's consoles listen on another loopback address than the controller's own
    mn.env.update({"NUBES_COMPUTE__CONSOLE_LISTEN": "127.0.0.2"})
    mn.add_agent("mn-console")
    sid = boot(mn, world, "consoled")
    assert mn.wait_server(sid, lambda s: s["status"] in ("ACTIVE", "ERROR"), 60)["status"] == "ACTIVE"
    r = mn.api("POST", f"/servers/{sid}/remote-consoles",
               json={"remote_console": {"protocol": "vnc", "type": "novnc"}})
    assert r.status_code == 200, r.text
    url = r.json()["remote_console"]["url"]
    assert mn.controller is not None
    assert f":{mn.controller.ports['compute-novncproxy']}/" in url
    info = mn.api("GET", f"/os-console-auth-tokens/{token_of(url)}")
    assert info.status_code == 200, info.text
    assert info.json()["console"]["host"] == "127.0.0.2"
    assert asyncio.run(_banner(novnc_websocket(url))) == b"RFB 003.008\n"
    # the compute node gone, its consoles are unavailable: Nova's 503 for a host that does not answer
    mn.agents["mn-console"].kill()
    r = mn.api("POST", f"/servers/{sid}/remote-consoles",
               json={"remote_console": {"protocol": "serial", "type": "serial"}})
    assert r.status_code == 503, r.text
    assert r.json()["serviceUnavailable"]["message"] == "Compute service of mn-console is unavailable at this time."
