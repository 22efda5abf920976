"""Handlers for /v2.0/subnets."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import address_validators as av
from nubes.network.api import attributes, listing, resource
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import subnets as q
from nubes.network.exceptions import SubnetNotFound
from nubes.network.service.subnets import NetworkInfo, SubnetRecord

RESOURCE, COLLECTION = "subnet", "subnets"
IPV6_MODES = ("dhcpv6-stateful", "dhcpv6-stateless", "slaac")


def _ip_version(value: Any) -> int:
    """Neutron converts to an integer first ("4" is 4), then checks the value."""
    try:
        number = int(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        number = None
    if number not in (4, 6) or (isinstance(value, float) and value != number):
        raise ValueError(f"{value} is not in [4, 6]")
    return number


def _segment(value: Any) -> None:
    if value is not None:
        raise ValueError("network segments are not supported by this cloud; segment_id must be null")
    return None


ATTRS = [
    Attr("name", v.string(255), default=""),
    Attr("description", v.string(255), default=""),
    Attr("ip_version", _ip_version, put=False, required=True),
    Attr("network_id", v.uuid, put=False, required=True),
    Attr("subnetpool_id", v.uuid_or_none, put=False),
    Attr("use_default_subnetpool", v.boolean, put=False),
    Attr("prefixlen", av.non_negative, put=False),
    Attr("cidr", av.subnet_or_none, put=False),
    Attr("gateway_ip", av.ip_or_none),
    Attr("allocation_pools", av.ip_pools),
    Attr("dns_nameservers", av.nameservers),
    Attr("host_routes", av.host_routes),
    Attr("enable_dhcp", v.boolean, default=True),
    Attr("ipv6_ra_mode", v.one_of(*IPV6_MODES, allow_none=True), put=False),
    Attr("ipv6_address_mode", v.one_of(*IPV6_MODES, allow_none=True), put=False),
    Attr("segment_id", _segment, policy=True),
    Attr("tags", v.tags, put=False),
    *attributes.read_only("id", "created_at", "updated_at", "revision_number"),
]




def view(rec: SubnetRecord) -> dict[str, Any]:
    row = rec.row
    return {
        "id": row.id, "name": row.name, **resource.owner(row), "network_id": row.network_id,
        "ip_version": row.ip_version, "cidr": row.cidr, "gateway_ip": row.gateway_ip,
        "allocation_pools": [{"start": p.first_ip, "end": p.last_ip} for p in row.allocation_pools],
        "dns_nameservers": [d.address for d in row.dns_nameservers],
        "host_routes": [{"destination": r.destination, "nexthop": r.nexthop} for r in row.host_routes],
        "enable_dhcp": row.enable_dhcp, "ipv6_ra_mode": row.ipv6_ra_mode,
        "ipv6_address_mode": row.ipv6_address_mode, "subnetpool_id": row.subnetpool_id,
        "segment_id": row.segment_id, **resource.standard(row, rec.tags),
    }


def _service(req: Request) -> Any:
    return req.rt.extra["network"].subnets


async def list_subnets(req: Request):
    ctx = req.ctx
    query = listing.parse(req, qlisting.kinds(q.FILTERS), qlisting.sortable(q.FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [view(r) for r in recs if ctx.allowed("get_subnet", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_subnet(req: Request):
    rec = await _service(req).show(req.ctx, req.path_params["subnet_id"])
    if not req.ctx.allowed("get_subnet", rec.policy_target()):  # Neutron: a GET it may not make is a 404
        raise SubnetNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(rec), resource.fields_of(req)))


async def create_subnet(req: Request):
    return await resource.create(req, RESOURCE, COLLECTION, lambda item: _create_one(req, item),
                                 lambda rec: _service(req).delete(req.ctx, rec.row.id, lambda *_: None), view)


def _target(project_id: str, info: NetworkInfo) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id, "network:tenant_id": info.owner,
            "network:project_id": info.owner, "shared": info.shared, "router:external": info.external}


async def _create_one(req: Request, item: dict[str, Any]) -> SubnetRecord:
    ctx: RequestContext = req.ctx
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)

    def authorize(info: NetworkInfo) -> None:
        target = _target(project_id, info)
        ctx.can("create_subnet", target)
        attributes.enforce_attrs(ctx, "create", RESOURCE, values, ATTRS, target, sent=lambda n: n in item)

    return await _service(req).create(ctx, values, project_id, authorize)


async def update_subnet(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    values = attributes.parse(item, ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any, rec: SubnetRecord) -> None:
        ctx.can("update_subnet", rec.policy_target())
        attributes.enforce_attrs(ctx, "update", RESOURCE, values, ATTRS, rec.policy_target(),
                                 sent=lambda n: n in item)
        resource.require_revision(expected, row)

    rec = await _service(req).update(ctx, req.path_params["subnet_id"], values, check)
    return resource.one(RESOURCE, view(rec))


async def delete_subnet(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any, rec: SubnetRecord) -> None:
        ctx.can("delete_subnet", rec.policy_target())
        resource.require_revision(expected, row)

    await _service(req).delete(ctx, req.path_params["subnet_id"], check)
    return empty_response(204)
