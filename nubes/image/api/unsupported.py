"""Upstream Image API routes nubes does not implement: an honest 501 each."""

from __future__ import annotations

from nubes.core.api.http import Request
from nubes.core.exceptions import NotImplementedYet


async def not_implemented(req: Request):
    raise NotImplementedYet(f"{req.method} {req.url.path} is part of the Image API but is not "
                            "implemented by nubes (see docs/api-coverage.md).")
