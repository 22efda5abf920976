"""Handlers for /servers/{id}/ips and /servers/{id}/ips/{network_label} (Nova's ips API): the
server's addresses by network, as in the server's ``addresses`` without the extended fields."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import server_views as views

P = "os_compute_api:ips"


async def _addresses(req: Request, rule: str) -> dict[str, list[dict[str, Any]]]:
    await authz.server(req, rule)
    view = await req.rt.extra["compute"].servers.get(req.ctx, req.path_params["server_id"])
    return {net: [{"version": a["version"], "addr": a["addr"]} for a in entries]
            for net, entries in views.addresses(view.row.network_info).items()}


async def list_ips(req: Request):
    return json_response({"addresses": await _addresses(req, f"{P}:index")})


async def show_ips(req: Request):
    found = await _addresses(req, f"{P}:show")
    label = req.path_params["network_label"]
    if label not in found:
        raise exc.NotFound("Instance is not a member of specified network")
    return json_response({label: found[label]})
