"""The placement ASGI app in this process over a scratch database, with a stand-in authenticator.

Used by the API tests that need no identity service; the CLI and concurrency tests use a
real ``nubes up`` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from nubes.core.config import Config, CoreConfig
from nubes.core.context import RequestContext
from nubes.core.db import migrate
from nubes.core.db.session import Database
from nubes.core.service import Runtime
from nubes.placement import SPEC
from nubes.placement.conf import PlacementConfig


class AdminTokens:
    """Any token is an admin of project 'p-admin'; the token 'reader' has no roles."""

    async def __call__(self, token: str, request_id: str) -> RequestContext:
        if token == "reader":
            return RequestContext(user_id="u-reader", project_id="p-reader", roles=["reader"])
        return RequestContext(user_id="u-admin", project_id="p-admin", roles=["admin", "member", "reader"])


async def make_app(tmp: Path, url: str | None = None, **conf: Any) -> tuple[Any, Runtime]:
    config = Config(core=CoreConfig(state_dir=tmp))
    url = url or f"sqlite:///{tmp / 'placement.sqlite'}"
    config.services["placement"] = PlacementConfig(database_url=url,
                                                   **conf)
    db = Database(config.database_url("placement"))
    await migrate.upgrade(db, "placement", SPEC.migrations, SPEC.metadata())
    rt = Runtime(name="placement", conf=config, db=db, tokens=AdminTokens())
    app = SPEC.build_app(rt)
    await rt.extra["placement"].start()
    _close = db.close

    async def close() -> None:      # tests call rt.db.close(): stop placement's own engines too
        await rt.extra["placement"].stop()
        await _close()

    db.close = close  # type: ignore[method-assign]
    return app, rt


def client(app: Any, version: str | None = "1.39", token: str = "admin") -> httpx.AsyncClient:
    headers = {"x-auth-token": token}
    if version:
        headers["openstack-api-version"] = f"placement {version}"
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://placement",
                             headers=headers)
