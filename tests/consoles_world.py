"""Remote consoles without the API: a driver's guest, the token store on a temporary SQLite database
and the two console proxies served by uvicorn on free loopback ports (for tests/unit/compute and
the qemu driver's host tests), and the RFB client steps a noVNC client takes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvicorn

from nubes.compute import exceptions as exc
from nubes.compute.conf import ComputeConfig
from nubes.compute.consoleproxy import ConsoleProxy
from nubes.compute.db.models import Base, Instance
from nubes.compute.db.queries import instances as qi
from nubes.compute.service.consoles import Consoles
from nubes.core.db.session import Database


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AgentBus:
    """The agent's side of ``get_console``: the driver answers, as the agent's handler asks it."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    async def call(self, topic: str, method: str, payload: dict, timeout: float = 0) -> dict:
        assert method == "get_console"
        ep = await self.driver.get_console(payload["instance"], payload["kind"])
        return {"host": ep.host, "port": ep.port, "internal_access_path": ep.internal_access_path}


class Visible:
    async def visible(self, s: Any, ctx: Any, instance_id: str) -> Instance:
        row = await qi.get(s, instance_id)
        if row is None or row.project_id != ctx.project_id:
            raise exc.InstanceNotFound(instance_id)
        return row


@contextlib.asynccontextmanager
async def console_world(tmp: Path, driver: Any, instance_id: str, conf: ComputeConfig,
                        web: Path | None = None) -> AsyncIterator[Any]:
    """The token store and both proxies for ``driver``'s guest ``instance_id`` (of project p1, on host
    ``driver.host``; the noVNC proxy serves ``web``); ``conf``'s proxy ports are set to free ones."""
    conf.novncproxy_port, conf.serialproxy_port = free_port(), free_port()
    db = Database(f"sqlite:///{tmp}/compute.db")
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with db.session() as s:
        s.add(Instance(id=instance_id, project_id="p1", user_id="u1", flavor={}, host=driver.host,
                       vm_state="active"))
    core = SimpleNamespace(public_host="127.0.0.1")
    state = SimpleNamespace(db=db, conf=conf, bus=AgentBus(driver), rt=SimpleNamespace(conf=SimpleNamespace(core=core)))
    state.consoles = Consoles(state, Visible())
    servers = []
    for proxy, port in ((ConsoleProxy(state, "novncproxy", ("novnc",), web), conf.novncproxy_port),
                        (ConsoleProxy(state, "serialproxy", ("serial",)), conf.serialproxy_port)):
        server = uvicorn.Server(uvicorn.Config(proxy, host="127.0.0.1", port=port, log_config=None,
                                               lifespan="on"))
        servers.append((server, asyncio.create_task(server.serve())))
    try:
        while not all(s.started for s, _ in servers):
            assert not any(t.done() for _, t in servers), "a console proxy did not start"
            await asyncio.sleep(0.01)
        yield SimpleNamespace(db=db, conf=conf, driver=driver, sid=instance_id, state=state,
                              ctx=SimpleNamespace(project_id="p1", is_admin=False))
    finally:
        for server, task in servers:
            server.should_exit = True
            await task
        await db.close()


def novnc_websocket(console_url: str) -> str:
    """The websocket a noVNC page at ``console_url`` opens (its ``path`` parameter, on its host)."""
    parts = urlsplit(console_url)
    return f"ws://{parts.netloc}/{parse_qs(parts.query)['path'][0]}"


def token_of(console_url: str) -> str:
    query = parse_qs(urlsplit(console_url).query)
    if "path" in query:
        query = parse_qs(urlsplit(query["path"][0]).query)
    return query["token"][0]


async def rfb_handshake(ws: Any) -> tuple[bytes, int, int, bytes]:
    """A noVNC client's first steps over websocket ``ws``: (banner, width, height, desktop name)."""
    version = await ws.recv()
    await ws.send(b"RFB 003.008\n")
    types = await ws.recv()
    assert types[0] >= 1 and 1 in types[1:1 + types[0]], types      # security type None offered
    await ws.send(b"\x01")
    assert await ws.recv() == struct.pack(">I", 0)                    # SecurityResult OK
    await ws.send(b"\x01")                                            # ClientInit, shared
    init = await ws.recv()
    while len(init) < 24:
        init += await ws.recv()
    width, height = struct.unpack(">HH", init[:4])
    (length,) = struct.unpack(">I", init[20:24])
    while len(init) < 24 + length:
        init += await ws.recv()
    return version, width, height, init[24:24 + length]
