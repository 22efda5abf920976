"""Handlers for /flavors/{id}/os-flavor-access and the addTenantAccess/removeTenantAccess actions."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response, read_json
from nubes.compute.api import validation as v

P = "os_compute_api:os-flavor-access"
TENANT = {"type": "object", "required": ["tenant"], "additionalProperties": False,
          "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255,
                                    "pattern": r"^[a-zA-Z0-9-_.]*$"}}}
ACTION = {"type": "object", "minProperties": 1, "maxProperties": 1, "additionalProperties": False,
          "properties": {"addTenantAccess": TENANT, "removeTenantAccess": TENANT}}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].flavors


def _view(flavorid: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavorid, "tenant_id": p} for p in projects]}


async def list_flavor_access(req: Request):
    req.ctx.can(P)
    flavorid = req.path_params["flavor_id"]
    return json_response(_view(flavorid, await _svc(req).access(flavorid)))


async def flavor_action(req: Request):
    flavorid = req.path_params["flavor_id"]
    body = v.validate(await read_json(req), ACTION)
    if "addTenantAccess" in body:
        req.ctx.can(f"{P}:add_tenant_access")
        projects = await _svc(req).add_access(flavorid, body["addTenantAccess"]["tenant"])
    else:
        req.ctx.can(f"{P}:remove_tenant_access")
        projects = await _svc(req).remove_access(flavorid, body["removeTenantAccess"]["tenant"])
    return json_response(_view(flavorid, projects))
