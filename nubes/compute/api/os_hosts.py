"""Handlers of Nova's os-hosts (admin only, below microversion 2.43; 404 from it, as Nova): the
hosts and their services, a compute host's resources, enabling or disabling it. Maintenance mode
and host power actions answer 501, as Nova's libvirt driver does (no driver here implements them)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response, read_json
from nubes.core.exceptions import NotImplementedYet
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.api.proxy_versions import until

LAST = "2.42"
HP = f"{authz.P}:os-hosts"
SWITCH = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]}
UPDATE = {"type": "object", "minProperties": 1, "additionalProperties": False,
          "properties": {"status": SWITCH, "maintenance_mode": SWITCH}}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].host_resources


@until(LAST)
async def list_hosts(req: Request):
    authz.own(req, f"{HP}:list")
    return json_response({"hosts": await _svc(req).hosts(req.query_params.get("zone"))})


@until(LAST)
async def show_host(req: Request):
    authz.own(req, f"{HP}:show")
    return json_response({"host": await _svc(req).resources(req.path_params["host_name"])})


@until(LAST)
async def update_host(req: Request):
    authz.own(req, f"{HP}:update")
    body = v.validate(await read_json(req), UPDATE)
    host = req.path_params["host_name"]
    await _svc(req).check(host)
    if "maintenance_mode" in body:
        raise NotImplementedYet("Virt driver does not implement host maintenance mode.")
    status = await _svc(req).set_enabled(host, body["status"].lower() == "enable")
    return json_response({"host": host, "status": status})


def _power(action: str) -> Any:
    @until(LAST)
    async def handler(req: Request):
        authz.own(req, f"{HP}:{action}")
        await _svc(req).check(req.path_params["host_name"])
        raise NotImplementedYet("Virt driver does not implement host power management.")

    handler.__name__ = f"{action}_host"
    return handler


startup_host, shutdown_host, reboot_host = _power("start"), _power("shutdown"), _power("reboot")
