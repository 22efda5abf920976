"""The last microversion of the APIs Nova removed (the proxy APIs at 2.36, os-hosts at 2.43, the
floating IP actions at 2.44): from the next one, the route or action answers 404, as Nova's."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from nubes.core.api.microversions import parse_version
from nubes.compute import exceptions as exc


def until(last: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Serve the handler up to microversion ``last``; above it, 404."""
    limit = parse_version(last)

    def wrap(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        async def gated(req: Any, *args: Any) -> Any:
            if req.ctx.api_version > limit:
                raise exc.NotFound("The resource could not be found.")
            return await handler(req, *args)

        return gated

    return wrap
