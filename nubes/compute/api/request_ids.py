"""Nova names its request id twice: ``x-openstack-request-id`` (every service's, set by the core app)
and ``x-compute-request-id`` (Nova's own, which older clients and upstream's tests read). This ASGI
wrapper copies the first into the second on every response, errors included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CORE = b"x-openstack-request-id"
NOVA = b"x-compute-request-id"


class ComputeRequestId:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_nova_id(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                rid = next((v for k, v in headers if k.lower() == CORE), None)
                if rid is not None and not any(k.lower() == NOVA for k, _ in headers):
                    headers.append((NOVA, rid))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_nova_id)
