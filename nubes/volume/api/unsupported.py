"""Routes of the Block Storage API that nubes does not serve yet: an honest 501 naming them."""

from __future__ import annotations

from nubes.core.api.http import Request
from nubes.volume.exceptions import NotImplementedYet


async def not_implemented(req: Request):
    raise NotImplementedYet(f"{req.method} {req.url.path} is not implemented by this cloud yet "
                            "(see docs/api-coverage.md).")

