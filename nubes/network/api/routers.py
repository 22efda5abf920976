"""Handlers for /v2.0/routers and the interface and extra-route actions."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import tags as tags_api
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import routers as q
from nubes.network.exceptions import BadRequest, RouterNotFound
from nubes.network.service import router_interfaces
from nubes.network.service.routers import InterfaceInfo, RouterRecord

RESOURCE, COLLECTION = "router", "routers"


def _fixed_ip(value: Any) -> dict[str, Any]:
    value = v.dict_value(value)
    unknown = set(value) - {"subnet_id", "ip_address"}
    if unknown:
        raise ValueError(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    out = {}
    if "subnet_id" in value:
        out["subnet_id"] = v.uuid(value["subnet_id"])
    if "ip_address" in value:
        out["ip_address"] = v.ip_address(value["ip_address"])
    return out


def gateway_info(value: Any) -> dict[str, Any] | None:
    if value is None or value == {}:
        return None
    value = v.dict_value(value)
    unknown = set(value) - {"network_id", "enable_snat", "external_fixed_ips"}
    if unknown:
        raise ValueError(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    if "network_id" not in value:
        raise ValueError("'network_id' is required in external_gateway_info")
    out: dict[str, Any] = {"network_id": v.uuid(value["network_id"])}
    if "enable_snat" in value:
        out["enable_snat"] = v.boolean(value["enable_snat"])
    if "external_fixed_ips" in value:
        out["external_fixed_ips"] = v.list_of(_fixed_ip)(value["external_fixed_ips"])
    return out


def route(value: Any) -> dict[str, str]:
    value = v.dict_value(value)
    if set(value) != {"destination", "nexthop"}:
        raise ValueError(f"'{value}' must have exactly destination and nexthop")
    return {"destination": v.ip_or_cidr(value["destination"]), "nexthop": v.ip_address(value["nexthop"])}


def routes(value: Any) -> list[dict[str, str]]:
    """Neutron converts ``null`` to no routes (``convert_none_to_empty_list``): it clears them."""
    return [] if value is None else v.list_of(route)(value)


ATTRS = [
    Attr("name", v.string(255), default=""),
    Attr("description", v.string(255), default=""),
    Attr("admin_state_up", v.boolean, default=True),
    Attr("external_gateway_info", gateway_info, default=None),
    Attr("routes", routes, post=False),
    Attr("availability_zone_hints", v.list_of(v.string(255)), put=False),
    Attr("tags", v.tags, put=False),
    *attributes.read_only(*attributes.STANDARD_READ_ONLY, "availability_zones"),
]


def _gateway_view(rec: RouterRecord) -> dict[str, Any] | None:
    port = rec.gateway_port
    if port is None:
        return None
    return {"network_id": port.network_id, "enable_snat": rec.row.enable_snat,
            "external_fixed_ips": [{"subnet_id": a.subnet_id, "ip_address": a.ip_address}
                                   for a in port.fixed_ips]}


def view(ctx: RequestContext, rec: RouterRecord) -> dict[str, Any]:
    row = rec.row
    return {"id": row.id, "name": row.name, **resource.owner(row), "status": row.status,
            "admin_state_up": row.admin_state_up, "external_gateway_info": _gateway_view(rec),
            "routes": [{"destination": r.destination, "nexthop": r.nexthop} for r in row.routes],
            "availability_zone_hints": row.availability_zone_hints or [], "availability_zones": rec.zones,
            **resource.standard(row, rec.tags)}


def _svc(req: Request) -> Any:
    return req.rt.extra["network"].routers


def _gateway_policy(ctx: RequestContext, action: str, item: dict[str, Any], target: dict[str, Any]) -> None:
    info = item.get("external_gateway_info")
    if not isinstance(info, dict):
        return
    failed = [f"rule:{action}_router:external_gateway_info:{k}" for k in ("enable_snat", "external_fixed_ips")
              if k in info and not ctx.allowed(f"{action}_router:external_gateway_info:{k}", target)]
    if failed:
        from nubes.network.exceptions import PolicyNotAuthorized

        raise PolicyNotAuthorized(" and ".join([f"rule:{action}_router", *failed]))


async def list_routers(req: Request):
    query = listing.parse(req, qlisting.kinds(q.ROUTER_FILTERS), qlisting.sortable(q.ROUTER_FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _svc(req).list(req.ctx, query)
    items = [view(req.ctx, r) for r in recs if req.ctx.allowed("get_router", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_router(req: Request):
    rec = await _svc(req).show(req.ctx, req.path_params["router_id"])
    if not req.ctx.allowed("get_router", rec.policy_target()):  # Neutron: a GET it may not make is a 404
        raise RouterNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(req.ctx, rec), resource.fields_of(req)))


async def create_router(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)
    target = {"project_id": project_id, "tenant_id": project_id}
    ctx.can("create_router", target)
    _gateway_policy(ctx, "create", item, target)
    rec = await _svc(req).create(ctx, values, project_id)
    if values.get("tags"):
        await req.rt.extra["network"].tags.replace(ctx, COLLECTION, rec.row.id, tags_api.authorizer(ctx),
                                                        values["tags"], action="create")
        rec = await _svc(req).show(ctx, rec.row.id)
    return resource.one(RESOURCE, view(ctx, rec), 201)


async def update_router(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    values = attributes.parse(item, ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any) -> None:
        target = {"project_id": row.project_id, "tenant_id": row.project_id}
        ctx.can("update_router", target)
        _gateway_policy(ctx, "update", item, target)
        resource.require_revision(expected, row)

    rec = await _svc(req).update(ctx, req.path_params["router_id"], values, check)
    return resource.one(RESOURCE, view(ctx, rec))


async def delete_router(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any) -> None:
        ctx.can("delete_router", {"project_id": row.project_id, "tenant_id": row.project_id})
        resource.require_revision(expected, row)

    await _svc(req).delete(ctx, req.path_params["router_id"], check)
    return empty_response(204)


def _interface_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body:
        raise BadRequest("Bad router request: Either subnet_id or port_id must be specified.")
    unknown = set(body) - {"subnet_id", "port_id"}
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    for key in body:
        try:
            v.uuid(body[key])
        except ValueError as e:
            raise BadRequest(f"Invalid input for {key}. Reason: {e}.") from None
    return body


def _interface_view(info: InterfaceInfo) -> dict[str, Any]:
    subnets = info.subnet_ids
    return {"id": info.router.id, **resource.owner(info.router), "port_id": info.port.id,
            "network_id": info.port.network_id,
            "subnet_id": info.subnet_id or (subnets[0] if subnets else None),
            "subnet_ids": subnets, "tags": []}


def _interface_check(ctx: RequestContext, rule: str) -> Any:
    def check(row: Any) -> None:
        ctx.can(rule, {"project_id": row.project_id, "tenant_id": row.project_id})
    return check


async def add_router_interface(req: Request):
    body = _interface_body(await read_json(req))
    info = await router_interfaces.add(req.rt.extra["network"], req.ctx, req.path_params["router_id"], body,
                                       _interface_check(req.ctx, "add_router_interface"))
    return json_response(_interface_view(info))


async def remove_router_interface(req: Request):
    body = _interface_body(await read_json(req))
    info = await router_interfaces.remove(req.rt.extra["network"], req.ctx, req.path_params["router_id"],
                                          body, _interface_check(req.ctx, "remove_router_interface"))
    return json_response(_interface_view(info))


async def _extraroutes(req: Request, add: bool):
    item = attributes.envelope(await read_json(req), RESOURCE)
    if set(item) != {"routes"}:
        raise BadRequest("Only 'routes' may be given to add_extraroutes and remove_extraroutes")
    try:
        routes = v.list_of(route)(item["routes"])
    except ValueError as e:
        raise BadRequest(f"Invalid input for routes. Reason: {e}.") from None
    rec = await _svc(req).change_routes(req.ctx, req.path_params["router_id"], routes, add,
                                        _interface_check(req.ctx, "update_router"))
    return resource.one(RESOURCE, view(req.ctx, rec))


async def add_extraroutes(req: Request):
    return await _extraroutes(req, True)


async def remove_extraroutes(req: Request):
    return await _extraroutes(req, False)
