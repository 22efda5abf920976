"""Handlers for /v2.0/subnetpools and its add_prefixes / remove_prefixes actions."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.network.api import address_validators as av
from nubes.network.api import attributes, listing, resource
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import subnetpools as q
from nubes.network.exceptions import BadRequest, SubnetPoolNotFound
from nubes.network.service.subnetpools import PoolRecord

RESOURCE, COLLECTION = "subnetpool", "subnetpools"

ATTRS = [
    Attr("name", av.not_empty_string(255), required=True),
    Attr("description", v.string(255), default=""),
    Attr("prefixes", av.subnet_list, required=True),
    Attr("default_quota", av.non_negative),
    Attr("default_prefixlen", av.non_negative),
    Attr("min_prefixlen", av.non_negative),
    Attr("max_prefixlen", av.non_negative),
    Attr("is_default", v.boolean, default=False, policy=True),
    Attr("shared", v.boolean, default=False, put=False, policy=True),
    Attr("address_scope_id", v.uuid_or_none),
    Attr("tags", v.tags, put=False),
    *attributes.read_only("id", "ip_version", "created_at", "updated_at", "revision_number"),
]


def view(rec: PoolRecord) -> dict[str, Any]:
    row = rec.row
    return {
        "id": row.id, "name": row.name, **resource.owner(row), "prefixes": rec.prefixes,
        "ip_version": row.ip_version, "default_prefixlen": row.default_prefixlen,
        "min_prefixlen": row.min_prefixlen, "max_prefixlen": row.max_prefixlen, "shared": row.shared,
        "is_default": row.is_default, "default_quota": row.default_quota,
        "address_scope_id": row.address_scope_id, **resource.standard(row, rec.tags),
    }


def _service(req: Request) -> Any:
    return req.rt.extra["network"].subnetpools


async def list_subnetpools(req: Request):
    ctx = req.ctx
    query = listing.parse(req, qlisting.kinds(q.FILTERS), qlisting.sortable(q.FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [view(r) for r in recs if ctx.allowed("get_subnetpool", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_subnetpool(req: Request):
    rec = await _service(req).show(req.ctx, req.path_params["subnetpool_id"])
    if not req.ctx.allowed("get_subnetpool", rec.policy_target()):  # Neutron: a GET it may not make is a 404
        raise SubnetPoolNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(rec), resource.fields_of(req)))


async def create_subnetpool(req: Request):
    body = await read_json(req)
    items = body.get(COLLECTION) if isinstance(body, dict) and COLLECTION in body else None
    if items is not None:
        if not isinstance(items, list) or not items:
            raise BadRequest(f"Invalid input for {COLLECTION}: a non-empty list is required")
        made: list[PoolRecord] = []
        try:
            for item in items:
                made.append(await _create_one(req, attributes.envelope({RESOURCE: item}, RESOURCE)))
        except Exception:
            for rec in reversed(made):
                await _service(req).delete(req.ctx, rec.row.id, lambda *_: None)
            raise
        return json_response({COLLECTION: [view(r) for r in made]}, 201)
    rec = await _create_one(req, attributes.envelope(body, RESOURCE))
    return resource.one(RESOURCE, view(rec), 201)


async def _create_one(req: Request, item: dict[str, Any]) -> PoolRecord:
    ctx = req.ctx
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)
    target = {"project_id": project_id, "tenant_id": project_id, "shared": values.get("shared", False),
              "is_default": values.get("is_default", False)}
    ctx.can("create_subnetpool", target)
    attributes.enforce_attrs(ctx, "create", RESOURCE, values, ATTRS, target, sent=lambda n: n in item)
    return await _service(req).create(ctx, values, project_id)


async def update_subnetpool(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    values = attributes.parse(item, ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any, rec: PoolRecord) -> None:
        ctx.can("update_subnetpool", rec.policy_target())
        attributes.enforce_attrs(ctx, "update", RESOURCE, values, ATTRS, rec.policy_target(),
                                 sent=lambda n: n in item)
        resource.require_revision(expected, row)

    rec = await _service(req).update(ctx, req.path_params["subnetpool_id"], values, check)
    return resource.one(RESOURCE, view(rec))


async def delete_subnetpool(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any, rec: PoolRecord) -> None:
        ctx.can("delete_subnetpool", rec.policy_target())
        resource.require_revision(expected, row)

    await _service(req).delete(ctx, req.path_params["subnetpool_id"], check)
    return empty_response(204)


async def _prefix_operation(req: Request, rule: str, add: bool):
    ctx = req.ctx
    body = await read_json(req)
    prefixes = body.get("prefixes") if isinstance(body, dict) else None
    if not prefixes or not isinstance(prefixes, list):
        raise BadRequest("Request body contains invalid data")
    try:
        prefixes = av.subnet_list(prefixes)
    except ValueError as exc:
        raise BadRequest(f"Invalid input for prefixes. Reason: {exc}.") from None

    def check(row: Any, rec: PoolRecord) -> None:
        ctx.can(rule, rec.policy_target())

    result = await _service(req).change_prefixes(ctx, req.path_params["subnetpool_id"], prefixes, add=add,
                                                 check=check)
    return json_response({"prefixes": result})


async def add_prefixes(req: Request):
    return await _prefix_operation(req, "add_prefixes", add=True)


async def remove_prefixes(req: Request):
    return await _prefix_operation(req, "remove_prefixes", add=False)
