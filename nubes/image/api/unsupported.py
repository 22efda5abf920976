"""Upstream Image API routes nubes does not implement (an honest 501 each), and paths Glance has
no route for although the router would match them (a 404 each)."""

from __future__ import annotations

from nubes.core.api.http import Request
from nubes.core.exceptions import NotFound, NotImplementedYet


async def not_implemented(req: Request):
    raise NotImplementedYet(f"{req.method} {req.url.path} is part of the Image API but is not "
                            "implemented by nubes (see docs/api-coverage.md).")


async def no_such_resource(req: Request):
    raise NotFound("The resource could not be found.")
