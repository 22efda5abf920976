"""Routes of the Compute API that nubes does not serve yet: an honest 501 naming them."""

from __future__ import annotations

from nubes.core.api.http import Request
from nubes.core.exceptions import NotImplementedYet


async def not_implemented(req: Request):
    raise NotImplementedYet(f"{req.method} {req.url.path} is not implemented by this cloud yet "
                            "(see docs/api-coverage.md).")



def _because(message: str):
    """A not-implemented handler with its own reason (named as the table's, so tools see it as one)."""
    async def not_implemented(req: Request):
        raise NotImplementedYet(message)

    return not_implemented


# Share attachments (2.97) need a shared file system service (Manila), which this cloud does not
# have; below 2.97 the routes do not exist (404, through the route table's gate).
share_attachments = _because("Share attachments (/servers/{server_id}/shares) need a shared file system "
                             "service, which this cloud does not have (see docs/api-coverage.md).")
