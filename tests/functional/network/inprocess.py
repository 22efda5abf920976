"""The network ASGI app in this process over a scratch database and an in-process bus.

For tests that play an agent (calling ``network.server`` on the bus) while driving the API;
the CLI tests use a real ``nubes up`` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from nubes.core.bus.inprocess import InProcessBus
from nubes.core.config import Config, CoreConfig
from nubes.core.context import RequestContext
from nubes.core.db import migrate
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from nubes.network import SPEC
from nubes.network.conf import NetworkConfig


class AdminTokens:
    """Any token is an admin of project 'p-admin'."""

    async def __call__(self, token: str, request_id: str) -> RequestContext:
        return RequestContext(user_id="u-admin", project_id="p-admin", roles=["admin", "member", "reader"])


class InProcessNetwork:
    def __init__(self, app: Any, rt: Runtime, bus: InProcessBus) -> None:
        self.app, self.rt, self.bus = app, rt, bus
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://network/v2.0",
                                      headers={"x-auth-token": "admin"})

    async def create(self, resource: str, collection: str | None = None, **body: Any) -> dict[str, Any]:
        r = await self.http.post(f"/{collection or resource + 's'}", json={resource: body})
        assert r.status_code == 201, r.text
        return r.json()[resource]

    async def call(self, method: str, **payload: Any) -> Any:
        return await self.bus.call("network.server", method, payload, timeout=10)

    async def close(self) -> None:
        await self.http.aclose()
        await self.bus.close()
        await self.rt.db.close()


async def start(tmp: Path, **conf: Any) -> InProcessNetwork:
    config = Config(core=CoreConfig(state_dir=tmp))
    config.services["network"] = NetworkConfig(**conf)
    db = Database(config.database_url("network"))
    await migrate.upgrade(db, "network", SPEC.migrations, SPEC.metadata())
    bus = InProcessBus()
    await bus.start()
    rt = Runtime(name="network", conf=config, db=db, bus=bus, tokens=AdminTokens())
    app = SPEC.build_app(rt)
    await rt.extra["network"].start()
    return InProcessNetwork(app, rt, bus)
