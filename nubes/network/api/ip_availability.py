"""Handlers for /v2.0/network-ip-availabilities (admins only by the default policy)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response
from nubes.network.api import listing, resource
from nubes.network.service.ip_availability import NetworkUsage

COLLECTION, RESOURCE = "network_ip_availabilities", "network_ip_availability"
FILTERS = {"network_id": "str", "network_name": "str", "project_id": "str", "tenant_id": "str",
           "ip_version": "int"}


def view(u: NetworkUsage) -> dict[str, Any]:
    return {"network_id": u.network_id, "network_name": u.name, "tenant_id": u.project_id,
            "project_id": u.project_id, "total_ips": u.total, "used_ips": u.used,
            "subnet_ip_availability": [{"subnet_id": x.subnet_id, "subnet_name": x.name, "cidr": x.cidr,
                                        "ip_version": x.ip_version, "total_ips": x.total, "used_ips": x.used}
                                       for x in u.subnets]}


def _service(req: Request) -> Any:
    return req.rt.extra["network"].ip_availability


async def list_ip_availabilities(req: Request):
    req.ctx.can("get_network_ip_availability", {"project_id": req.ctx.project_id})
    query = listing.parse(req, FILTERS, sortable=set())
    usages = await _service(req).list(query.filters)
    items = [resource.select_fields(view(u), query.fields) for u in usages]
    return json_response({COLLECTION: items})


async def show_ip_availability(req: Request):
    req.ctx.can("get_network_ip_availability", {"project_id": req.ctx.project_id})
    usage = await _service(req).show(req.path_params["network_id"])
    return resource.one(RESOURCE, resource.select_fields(view(usage), resource.fields_of(req)))
