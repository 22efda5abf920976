"""Handlers for /v2.0/security-groups."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import security_group_rules as rules_api
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import security_groups as q
from nubes.network.exceptions import BadRequest, SecurityGroupNotFound
from nubes.network.service.security_groups import GroupRecord, SecurityGroupDefaultAlreadyExists

RESOURCE, COLLECTION = "security_group", "security_groups"


def _name(value: Any) -> str:
    """Neutron's name_not_default: any name but "default", which only the project's own group has."""
    name = v.string(255)(value)
    if name.lower() == "default":
        raise SecurityGroupDefaultAlreadyExists()
    return name


ATTRS = [
    Attr("name", _name, default=""),
    Attr("description", v.string(255), default=""),
    Attr("stateful", v.boolean, default=True),
    Attr("tags", v.tags, put=False),
    *attributes.read_only("id", "created_at", "updated_at", "revision_number", "security_group_rules",
                          "shared"),
]


def view(rec: GroupRecord) -> dict[str, Any]:
    row = rec.row
    return {
        "id": row.id, "name": row.name, **resource.owner(row), "stateful": row.stateful,
        "shared": rec.shared,
        "security_group_rules": [rules_api.view(r, rec.is_default) for r in rec.rules],
        **resource.standard(row, rec.tags),
    }


def _service(req: Request) -> Any:
    return req.rt.extra["network"].security_groups


def _may(ctx: RequestContext, action: str, row: Any, target: dict[str, Any]) -> None:
    """404 for a group the caller may not even read; 403 for one it may read but not change."""
    if not ctx.allowed("get_security_group", target):
        raise SecurityGroupNotFound(row.id)
    ctx.can(f"{action}_security_group", target)


async def list_security_groups(req: Request):
    ctx = req.ctx
    filters = q.group_filters(ctx.project_id)
    query = listing.parse(req, qlisting.kinds(filters), qlisting.sortable(filters),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [view(r) for r in recs if ctx.allowed("get_security_group", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_security_group(req: Request):
    ctx = req.ctx
    rec = await _service(req).show(ctx, req.path_params["security_group_id"])
    if not ctx.allowed("get_security_group", rec.policy_target()):
        raise SecurityGroupNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(view(rec), resource.fields_of(req)))


async def _create_one(req: Request, item: Any) -> GroupRecord:
    ctx = req.ctx
    if not isinstance(item, dict):
        raise BadRequest(f"Invalid input for {RESOURCE}. Reason: '{item}' is not a dictionary.")
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)
    ctx.can("create_security_group", {"project_id": project_id, "tenant_id": project_id})
    return await _service(req).create(ctx, values, project_id)


async def create_security_group(req: Request):
    return await resource.create(req, RESOURCE, COLLECTION, lambda item: _create_one(req, item),
                                 lambda rec: _service(req).delete(req.ctx, rec.row.id), view)


async def update_security_group(req: Request):
    ctx = req.ctx
    values = attributes.parse(attributes.envelope(await read_json(req), RESOURCE), ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any, target: dict[str, Any]) -> None:
        _may(ctx, "update", row, target)
        resource.require_revision(expected, row)

    rec = await _service(req).update(ctx, req.path_params["security_group_id"], values, check)
    return resource.one(RESOURCE, view(rec))


async def delete_security_group(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any, target: dict[str, Any]) -> None:
        _may(ctx, "delete", row, target)
        resource.require_revision(expected, row)

    await _service(req).delete(ctx, req.path_params["security_group_id"], check)
    return empty_response(204)
