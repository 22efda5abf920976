"""Handlers for /v2.0/networks."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import tags as tags_api
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import networks as q
from nubes.network.exceptions import NetworkNotFound
from nubes.network.service.networks import NetworkRecord

RESOURCE, COLLECTION = "network", "networks"
PROVIDER = ("provider:network_type", "provider:physical_network", "provider:segmentation_id")

ATTRS = [
    Attr("name", v.string(255), default=""),
    Attr("description", v.string(255), default=""),
    Attr("admin_state_up", v.boolean, default=True),
    Attr("shared", v.boolean, default=False, policy=True),
    Attr("router:external", v.boolean, default=False, policy=True),
    Attr("mtu", v.integer(68), policy=False),
    Attr("port_security_enabled", v.boolean, default=True),
    Attr("availability_zone_hints", v.list_of(v.string(255)), put=False),
    Attr("provider:network_type", v.string(32), policy=True),
    Attr("provider:physical_network", v.string(64), policy=True),
    Attr("provider:segmentation_id", v.integer(1), policy=True),
    Attr("is_default", v.boolean, policy=True),
    Attr("tags", v.tags, put=False),
    *attributes.read_only(*attributes.STANDARD_READ_ONLY, "subnets", "availability_zones", "l2_adjacency"),
]


def view(ctx: RequestContext, rec: NetworkRecord) -> dict[str, Any]:
    row, seg = rec.row, rec.segment
    data = {
        "id": row.id, "name": row.name, **resource.owner(row), "admin_state_up": row.admin_state_up,
        "status": row.status, "subnets": rec.subnets, "shared": rec.shared,
        "router:external": rec.external, "mtu": row.mtu, "port_security_enabled": row.port_security_enabled,
        "availability_zone_hints": row.availability_zone_hints or [],
        "availability_zones": rec.availability_zones, "l2_adjacency": True, "is_default": row.is_default,
        "provider:network_type": seg.network_type if seg else None,
        "provider:physical_network": (seg.physical_network or None) if seg else None,
        "provider:segmentation_id": seg.api_segmentation_id if seg else None,
        **resource.standard(row, rec.tags),
    }
    return resource.hide(ctx, RESOURCE, data, PROVIDER, rec.policy_target())


def _service(req: Request) -> Any:
    return req.rt.extra["network"].networks


async def list_networks(req: Request):
    ctx = req.ctx
    query = listing.parse(req, qlisting.kinds(q.FILTERS), qlisting.sortable(q.FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [view(ctx, r) for r in recs if ctx.allowed("get_network", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_network(req: Request):
    rec = await _service(req).show(req.ctx, req.path_params["network_id"])
    if not req.ctx.allowed("get_network", rec.policy_target()):  # Neutron: a GET it may not make is a 404
        raise NetworkNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(req.ctx, rec), resource.fields_of(req)))


async def create_network(req: Request):
    ctx = req.ctx
    return await resource.create(req, RESOURCE, COLLECTION, lambda item: _create_one(req, item),
                                 lambda rec: _service(req).delete(ctx, rec.row.id),
                                 lambda rec: view(ctx, rec))


async def _create_one(req: Request, item: dict[str, Any]) -> NetworkRecord:
    ctx = req.ctx
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)
    target = {"project_id": project_id, "tenant_id": project_id}
    ctx.can("create_network", target)
    attributes.enforce_attrs(ctx, "create", RESOURCE, values, ATTRS, target,
                             sent=lambda name: name in item)
    svc = _service(req)
    rec = await svc.create(ctx, values, project_id)
    if values.get("tags"):
        await req.rt.extra["network"].tags.replace(ctx, COLLECTION, rec.row.id, tags_api.authorizer(ctx),
                                                        values["tags"], action="create")
        rec = await svc.show(ctx, rec.row.id)
    return rec


async def update_network(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    values = attributes.parse(item, ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any, rec: NetworkRecord) -> None:
        ctx.can("update_network", rec.policy_target())
        attributes.enforce_attrs(ctx, "update", RESOURCE, values, ATTRS, rec.policy_target(),
                                 sent=lambda name: name in item)
        resource.require_revision(expected, row)

    rec = await _service(req).update(ctx, req.path_params["network_id"], values, check)
    return resource.one(RESOURCE, view(ctx, rec))


async def delete_network(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any, rec: NetworkRecord) -> None:
        ctx.can("delete_network", rec.policy_target())
        resource.require_revision(expected, row)

    await _service(req).delete(ctx, req.path_params["network_id"], check)
    return empty_response(204)
