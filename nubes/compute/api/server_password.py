"""Handlers for /servers/{id}/os-server-password (GET shows, DELETE clears), Nova's API for the
encrypted password a guest posted to the metadata API."""

from __future__ import annotations

from nubes.core.api.http import Request, empty_response, json_response
from nubes.compute.api import authz

P = "os_compute_api:os-server-password"


def _svc(req: Request):
    return req.rt.extra["compute"].server_password


async def show_password(req: Request):
    await authz.server(req, f"{P}:show")
    return json_response({"password": await _svc(req).show(req.ctx, req.path_params["server_id"])})


async def clear_password(req: Request):
    await authz.server(req, f"{P}:clear")
    await _svc(req).clear(req.ctx, req.path_params["server_id"])
    return empty_response(204)
