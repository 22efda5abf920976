"""Handlers for /v2.0/floatingips."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import tags as tags_api
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import routers as q
from nubes.network.exceptions import FloatingIPNotFound
from nubes.network.service.floatingips import FloatingIPRecord

RESOURCE, COLLECTION = "floatingip", "floatingips"

ATTRS = [
    Attr("floating_network_id", v.uuid, put=False, required=True),
    Attr("floating_ip_address", v.ip_address_or_none, put=False, policy=True),
    Attr("subnet_id", v.uuid_or_none, put=False),
    Attr("port_id", v.uuid_or_none),
    Attr("fixed_ip_address", v.ip_address_or_none),
    Attr("description", v.string(255), default=""),
    Attr("tags", v.tags, put=False),
    *attributes.read_only(*attributes.STANDARD_READ_ONLY, "router_id", "port_details"),
]


def view(ctx: RequestContext, rec: FloatingIPRecord) -> dict[str, Any]:
    row, port = rec.row, rec.port
    details = None
    if port is not None:
        details = {"name": port.name, "network_id": port.network_id, "mac_address": port.mac_address,
                   "admin_state_up": port.admin_state_up, "status": port.status,
                   "device_id": port.device_id, "device_owner": port.device_owner}
    return {"id": row.id, **resource.owner(row), "floating_ip_address": row.floating_ip_address,
            "floating_network_id": row.floating_network_id, "router_id": row.router_id,
            "port_id": row.fixed_port_id, "fixed_ip_address": row.fixed_ip_address, "status": row.status,
            "port_details": details, **resource.standard(row, rec.tags or [])}


def _svc(req: Request) -> Any:
    return req.rt.extra["network"].floatingips


async def list_floatingips(req: Request):
    query = listing.parse(req, qlisting.kinds(q.FIP_FILTERS), qlisting.sortable(q.FIP_FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _svc(req).list(req.ctx, query)
    items = [view(req.ctx, r) for r in recs if req.ctx.allowed("get_floatingip", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_floatingip(req: Request):
    rec = await _svc(req).show(req.ctx, req.path_params["floatingip_id"])
    if not req.ctx.allowed("get_floatingip", rec.policy_target()):  # Neutron: a GET it may not make is a 404
        raise FloatingIPNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(req.ctx, rec), resource.fields_of(req)))


async def create_floatingip(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)
    target = {"project_id": project_id, "tenant_id": project_id}
    ctx.can("create_floatingip", target)
    attributes.enforce_attrs(ctx, "create", RESOURCE, values, ATTRS, target,
                             sent=lambda name: item.get(name) is not None)
    rec = await _svc(req).create(ctx, values, project_id)
    if values.get("tags"):
        await req.rt.extra["network"].tags.replace(ctx, COLLECTION, rec.row.id, tags_api.authorizer(ctx),
                                                        values["tags"], action="create")
        rec = await _svc(req).show(ctx, rec.row.id)
    return resource.one(RESOURCE, view(ctx, rec), 201)


async def update_floatingip(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    values = attributes.parse(item, ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any) -> None:
        ctx.can("update_floatingip", {"project_id": row.project_id, "tenant_id": row.project_id})
        resource.require_revision(expected, row)

    rec = await _svc(req).update(ctx, req.path_params["floatingip_id"], values, check)
    return resource.one(RESOURCE, view(ctx, rec))


async def delete_floatingip(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any) -> None:
        ctx.can("delete_floatingip", {"project_id": row.project_id, "tenant_id": row.project_id})
        resource.require_revision(expected, row)

    await _svc(req).delete(ctx, req.path_params["floatingip_id"], check)
    return empty_response(204)
