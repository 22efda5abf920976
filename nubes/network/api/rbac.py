"""Handlers for /v2.0/rbac-policies."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import rbac as q
from nubes.network.exceptions import PolicyNotAuthorized, RbacPolicyNotFound
from nubes.network.service.rbac import OBJECT_TYPES, RbacRecord

RESOURCE, COLLECTION = "rbac_policy", "rbac_policies"

ATTRS = [
    Attr("object_type", v.one_of(*OBJECT_TYPES), required=True, put=False),
    Attr("object_id", v.string(36), required=True, put=False),
    Attr("action", v.string(255), required=True, put=False),
    Attr("target_tenant", v.string(255), required=True),
    *attributes.read_only("id"),
]
# Every type's filters have the same wire names.
FILTERS = q.filters(q.MODELS["network"], "network")
SORTABLE = set(q.SORT_KEYS) | {"object_type"}


def view(rec: RbacRecord) -> dict[str, Any]:
    row = rec.row
    return {"id": row.id, "object_type": rec.object_type, "object_id": row.object_id, "action": row.action,
            "target_tenant": row.target_project, **resource.owner(row)}


def _service(req: Request) -> Any:
    return req.rt.extra["network"].rbac


def _target_rule(ctx: RequestContext, action: str, target: dict[str, Any]) -> None:
    rule = f"{action}_rbac_policy:target_tenant"
    if not ctx.allowed(rule, target):
        raise PolicyNotAuthorized(f"rule:{action}_rbac_policy and rule:{rule}")


async def list_rbac_policies(req: Request):
    ctx = req.ctx
    query = listing.parse(req, qlisting.kinds(FILTERS), SORTABLE, req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [view(r) for r in recs if ctx.allowed("get_rbac_policy", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_rbac_policy(req: Request):
    ctx = req.ctx
    rec = await _service(req).show(ctx, req.path_params["rbac_policy_id"])
    if not ctx.allowed("get_rbac_policy", rec.policy_target()):
        raise RbacPolicyNotFound(rec.row.id, rec.object_type)
    return resource.one(RESOURCE, resource.select_fields(view(rec), resource.fields_of(req)))


async def create_rbac_policy(req: Request):
    ctx = req.ctx
    item = attributes.envelope(await read_json(req), RESOURCE)
    project_id = attributes.owner(ctx, item)
    values = attributes.parse(item, ATTRS, create=True)
    target = {"project_id": project_id, "tenant_id": project_id, "target_tenant": values["target_tenant"],
              "object_type": values["object_type"], "object_id": values["object_id"],
              "action": values["action"]}
    ctx.can("create_rbac_policy", target)
    _target_rule(ctx, "create", target)
    rec = await _service(req).create(ctx, values, project_id)
    return resource.one(RESOURCE, view(rec), 201)


def _may(ctx: RequestContext, action: str, rec: RbacRecord) -> None:
    if not ctx.allowed("get_rbac_policy", rec.policy_target()):
        raise RbacPolicyNotFound(rec.row.id, rec.object_type)
    ctx.can(f"{action}_rbac_policy", rec.policy_target())


async def update_rbac_policy(req: Request):
    ctx = req.ctx
    values = attributes.parse(attributes.envelope(await read_json(req), RESOURCE), ATTRS, create=False)

    def check(rec: RbacRecord) -> None:
        _may(ctx, "update", rec)
        if "target_tenant" in values:
            _target_rule(ctx, "update", {**rec.policy_target(), "target_tenant": values["target_tenant"]})

    rec = await _service(req).update(ctx, req.path_params["rbac_policy_id"], values, check)
    return resource.one(RESOURCE, view(rec))


async def delete_rbac_policy(req: Request):
    ctx = req.ctx

    def check(rec: RbacRecord) -> None:
        _may(ctx, "delete", rec)

    await _service(req).delete(ctx, req.path_params["rbac_policy_id"], check)
    return empty_response(204)
