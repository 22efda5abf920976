"""Handlers for GET /servers/{id}/os-volume_attachments[/{volume_id}] (Nova's volume attachments).

This cloud has no block storage service yet, so a server has no volumes attached: its list is
empty and any one volume is not attached (404, as Nova answers). Attaching, swapping and
detaching still answer 501 (see docs/api-coverage.md)."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v

VA = f"{authz.P}:os-volumes-attachments"
QUERY = {"type": "object", "properties": {"limit": v.positive_integer(0), "offset": v.positive_integer(0)}}


async def list_volume_attachments(req: Request):
    v.validate_query(dict(req.query_params), QUERY)
    await authz.server(req, f"{VA}:index")
    return json_response({"volumeAttachments": []})


async def show_volume_attachment(req: Request):
    await authz.server(req, f"{VA}:show")
    raise exc.NotFound(f"Instance {req.path_params['server_id']} is not attached to volume "
                       f"{req.path_params['volume_id']}.")
