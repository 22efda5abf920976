"""Binds the image service to Glance's (webob's) error bodies, negotiated on the request's Accept."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from nubes.core.errors import Rendered, glance_style
from nubes.core.exceptions import CloudError

_ACCEPT: contextvars.ContextVar[str | None] = contextvars.ContextVar("image_accept", default=None)
_AUTH_URI: list[str] = [""]


def render(exc: CloudError, request_id: str) -> Rendered:
    return glance_style.render(exc, request_id, accept=_ACCEPT.get(),
                               www_authenticate=f'Keystone uri="{_AUTH_URI[0]}"' if _AUTH_URI[0] else "")


def negotiating(app: Callable[..., Any], identity_url: str = "") -> Callable[..., Any]:
    """Wrap the service app so the renderer can see the Accept header of the request it answers."""
    if identity_url:
        _AUTH_URI[0] = identity_url

    async def wrapped(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope.get("type") != "http":
            await app(scope, receive, send)
            return
        accept = None
        for name, value in scope.get("headers", []):
            if name == b"accept":
                accept = value.decode("latin-1")
                break
        token = _ACCEPT.set(accept)
        try:
            await app(scope, receive, send)
        finally:
            _ACCEPT.reset(token)

    return wrapped
