"""Handlers for /v2.0/security-group-rules."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.context import RequestContext
from nubes.network.api import attributes, listing, resource
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.db.queries import listing as qlisting
from nubes.network.db.queries import security_groups as q
from nubes.network.exceptions import BadRequest, SecurityGroupRuleNotFound
from nubes.network.service import security_group_rule_values as rv
from nubes.network.service.security_group_rules import RuleRecord

RESOURCE, COLLECTION = "security_group_rule", "security_group_rules"

ATTRS = [
    Attr("security_group_id", v.string(255), required=True, put=False),
    Attr("direction", v.one_of(*rv.DIRECTIONS), required=True, put=False),
    Attr("protocol", rv.protocol, default=None, put=False),
    Attr("port_range_min", rv.port, default=None, put=False),
    Attr("port_range_max", rv.port, default=None, put=False),
    Attr("ethertype", rv.ethertype, default="IPv4", put=False),
    Attr("remote_ip_prefix", rv.remote_ip_prefix, default=None, put=False),
    Attr("remote_group_id", v.string(255, allow_none=True), default=None, put=False),
    Attr("description", v.string(255), default=""),
    *attributes.read_only("id", "created_at", "updated_at", "revision_number", "normalized_cidr",
                          "belongs_to_default_sg"),
]


def view(rule: Any, belongs_to_default: bool) -> dict[str, Any]:
    return {
        "id": rule.id, **resource.owner(rule), "security_group_id": rule.security_group_id,
        "ethertype": rule.ethertype, "direction": rule.direction, "protocol": rule.protocol,
        "port_range_min": rule.port_range_min, "port_range_max": rule.port_range_max,
        "remote_ip_prefix": rule.remote_ip_prefix, "remote_group_id": rule.remote_group_id,
        "normalized_cidr": rv.normalized_cidr(rule.remote_ip_prefix),
        "belongs_to_default_sg": belongs_to_default,
        **resource.standard(rule),
    }


def _view(rec: RuleRecord) -> dict[str, Any]:
    return view(rec.row, rec.belongs_to_default)


def _service(req: Request) -> Any:
    return req.rt.extra["network"].security_group_rules


def _may(ctx: RequestContext, action: str, rec: RuleRecord) -> None:
    """404 for a rule the caller may not even read; 403 for one it may read but not change."""
    if not ctx.allowed("get_security_group_rule", rec.policy_target()):
        raise SecurityGroupRuleNotFound(rec.row.id)
    ctx.can(f"{action}_security_group_rule", rec.policy_target())


async def list_security_group_rules(req: Request):
    ctx = req.ctx
    query = listing.parse(req, qlisting.kinds(q.RULE_FILTERS), qlisting.sortable(q.RULE_FILTERS),
                          req.rt.service_conf.pagination_max_limit)
    recs, more = await _service(req).list(ctx, query)
    items = [_view(r) for r in recs if ctx.allowed("get_security_group_rule", r.policy_target())]
    return resource.many(req, COLLECTION, items, query, more)


async def show_security_group_rule(req: Request):
    ctx = req.ctx
    rec = await _service(req).show(ctx, req.path_params["security_group_rule_id"])
    if not ctx.allowed("get_security_group_rule", rec.policy_target()):
        raise SecurityGroupRuleNotFound(rec.row.id)
    return resource.one(RESOURCE, resource.select_fields(_view(rec), resource.fields_of(req)))


def _parse(ctx: RequestContext, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRequest(f"Invalid input for {RESOURCE}. Reason: '{item}' is not a dictionary.")
    attributes.owner(ctx, item)      # a non-admin may not name another project
    return attributes.parse(item, ATTRS, create=True)


async def create_security_group_rule(req: Request):
    ctx = req.ctx
    body = await read_json(req)
    bulk = isinstance(body, dict) and COLLECTION in body and RESOURCE not in body
    if bulk:
        items = body[COLLECTION]
        if not isinstance(items, list) or not items:
            raise BadRequest(f"Invalid input for {COLLECTION}: a non-empty list is required")
        rules = [_parse(ctx, i.get(RESOURCE, i) if isinstance(i, dict) else i) for i in items]
        projects = {attributes.owner(ctx, i.get(RESOURCE, i)) for i in items}
        if len(projects) > 1:
            raise rv.SecurityGroupRulesNotSingleProject()
    else:
        rules = [_parse(ctx, attributes.envelope(body, RESOURCE))]

    def check(group: Any, target: dict[str, Any]) -> None:
        rule_target = {"project_id": group.project_id, "tenant_id": group.project_id,
                       "security_group:tenant_id": group.project_id, "security_group_id": group.id}
        ctx.can("create_security_group_rule", rule_target)

    recs = await _service(req).create(ctx, rules, check)
    if bulk:
        return json_response({COLLECTION: [_view(r) for r in recs]}, 201)
    return resource.one(RESOURCE, _view(recs[0]), 201)


async def update_security_group_rule(req: Request):
    ctx = req.ctx
    values = attributes.parse(attributes.envelope(await read_json(req), RESOURCE), ATTRS, create=False)
    expected = resource.expected_revision(req)

    def check(row: Any, rec: RuleRecord) -> None:
        _may(ctx, "update", rec)
        resource.require_revision(expected, row)

    rec = await _service(req).update(ctx, req.path_params["security_group_rule_id"], values, check)
    return resource.one(RESOURCE, _view(rec))


async def delete_security_group_rule(req: Request):
    ctx = req.ctx
    expected = resource.expected_revision(req)

    def check(row: Any, rec: RuleRecord) -> None:
        _may(ctx, "delete", rec)
        resource.require_revision(expected, row)

    await _service(req).delete(ctx, req.path_params["security_group_rule_id"], check)
    return empty_response(204)
