"""Handlers for /v2.0/ports."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.network.api import address_validators as av
from nubes.network.api import attributes, listing, resource
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import ports as q
from nubes.network.exceptions import BadRequest, PortNotFound
from nubes.network.service.port_parts import VNIC_TYPES
from nubes.network.service.ports import PortRecord
from nubes.network.service.subnets import NetworkInfo

RESOURCE, COLLECTION = "port", "ports"
BINDING = ("binding:host_id", "binding:profile", "binding:vif_type", "binding:vif_details")
# wire name -> service name
RENAMED = {"binding:host_id": "binding_host_id", "binding:profile": "binding_profile",
           "binding:vnic_type": "binding_vnic_type"}


@lru_cache(maxsize=8)
def attrs(max_pairs: int) -> tuple[Attr, ...]:
    return (
        Attr("name", v.string(255), default=""),
        Attr("description", v.string(255), default=""),
        Attr("network_id", v.uuid, put=False, required=True),
        Attr("admin_state_up", v.boolean, default=True),
        Attr("mac_address", av.mac_address, policy=True),
        Attr("fixed_ips", av.fixed_ips, policy=True),
        Attr("device_id", v.string(255), default=""),
        Attr("device_owner", v.string(255), default="", policy=True),
        Attr("port_security_enabled", v.boolean, policy=True),
        Attr("security_groups", lambda x: [] if x is None else v.list_of(v.uuid, unique=True)(x)),
        Attr("allowed_address_pairs", av.address_pairs(max_pairs), policy=True),
        Attr("extra_dhcp_opts", av.dhcp_opts),
        Attr("binding:host_id", v.string(255, allow_none=True), policy=True),
        Attr("binding:profile", v.dict_or_none, policy=True),
        Attr("binding:vnic_type", v.one_of(*VNIC_TYPES), default="normal"),
        Attr("tags", v.tags, put=False),
        *attributes.read_only(*attributes.STANDARD_READ_ONLY, "binding:vif_type", "binding:vif_details"),
    )


def _attrs(req: Request) -> tuple[Attr, ...]:
    return attrs(int(req.rt.service_conf.max_allowed_address_pair))


def _renamed(values: dict[str, Any]) -> dict[str, Any]:
    return {RENAMED.get(k, k): val for k, val in values.items()}


def view(ctx: Any, rec: PortRecord) -> dict[str, Any]:
    row = rec.row
    data = {
        "id": row.id, "name": row.name, "network_id": row.network_id, **resource.owner(row),
        "mac_address": row.mac_address, "admin_state_up": row.admin_state_up, "status": row.status,
        "device_id": row.device_id, "device_owner": row.device_owner,
        "fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                      for a in sorted(row.fixed_ips, key=lambda a: a.position)],
        "allowed_address_pairs": [{"ip_address": p.ip_address, "mac_address": p.mac_address}
                                  for p in row.allowed_address_pairs],
        "extra_dhcp_opts": [{"opt_name": o.opt_name, "opt_value": o.opt_value, "ip_version": o.ip_version}
                            for o in row.extra_dhcp_opts],
        "security_groups": sorted(g.security_group_id for g in row.security_groups),
        "port_security_enabled": row.port_security_enabled,
        "binding:host_id": row.binding_host_id or "", "binding:profile": row.binding_profile or {},
        "binding:vif_type": row.binding_vif_type, "binding:vif_details": row.binding_vif_details or {},
        "binding:vnic_type": row.binding_vnic_type,
        **resource.standard(row, rec.tags),
    }
    return resource.hide(ctx, RESOURCE, data, BINDING, rec.policy_target())


def _service(req: Request) -> Any:
    return req.rt.extra["network"].ports


def _check_fixed_ip_filters(req: Request) -> None:
    for value in req.query_params.getlist("fixed_ips"):
        key, sep, val = value.partition("=")
        if not sep or key not in q.FIXED_IP_KEYS or not val:
            raise BadRequest(f"Invalid input for fixed_ips. Reason: '{value}' is not of the form "
                             "ip_address=<ip>, subnet_id=<id> or ip_address_substr=<text>.")


async def list_ports(req: Request):
    ctx = req.ctx
    _check_fixed_ip_filters(req)
    query = listing.parse(req, qlisting.kinds(q.FILTERS), qlisting.sortable(q.FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [view(ctx, r) for r in recs if ctx.allowed("get_port", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_port(req: Request):
    ctx = req.ctx
    rec = await _service(req).show(ctx, req.path_params["port_id"])
    if not ctx.allowed("get_port", rec.policy_target()):  # Neutron: a GET it may not make is a 404
        raise PortNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(ctx, rec), resource.fields_of(req)))


async def create_port(req: Request):
    ctx = req.ctx
    return await resource.create(req, RESOURCE, COLLECTION, lambda item: _create_one(req, item),
                                 lambda rec: _service(req).delete(ctx, rec.row.id, lambda *_: None),
                                 lambda rec: view(ctx, rec))


async def _create_one(req: Request, item: dict[str, Any]) -> PortRecord:
    ctx = req.ctx
    project_id = attributes.owner(ctx, item)
    spec = _attrs(req)
    values = attributes.parse(item, spec, create=True)

    def authorize(info: NetworkInfo) -> None:
        target = {"project_id": project_id, "tenant_id": project_id, "network_id": values["network_id"],
                  "network:tenant_id": info.owner, "network:project_id": info.owner, "shared": info.shared,
                  "router:external": info.external, "device_owner": values.get("device_owner", ""),
                  "device_id": values.get("device_id", "")}
        ctx.can("create_port", target)
        attributes.enforce_attrs(ctx, "create", RESOURCE, values, spec, target, sent=lambda n: n in item)

    return await _service(req).create(ctx, _renamed(values), project_id, authorize)


async def update_port(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    spec = _attrs(req)
    values = attributes.parse(item, spec, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any, rec: PortRecord) -> None:
        target = rec.policy_target(**{k: values[k] for k in ("device_owner", "device_id") if k in values})
        ctx.can("update_port", target)
        attributes.enforce_attrs(ctx, "update", RESOURCE, values, spec, target, sent=lambda n: n in item)
        resource.require_revision(expected, row)

    rec = await _service(req).update(ctx, req.path_params["port_id"], _renamed(values), check)
    return resource.one(RESOURCE, view(ctx, rec))


async def delete_port(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any, rec: PortRecord) -> None:
        ctx.can("delete_port", rec.policy_target())
        resource.require_revision(expected, row)

    await _service(req).delete(ctx, req.path_params["port_id"], check)
    return empty_response(204)
