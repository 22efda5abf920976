"""/v3/roles (global and domain-specific), implied roles and /v3/role_inferences."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json, require_object
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import NULL_DOMAIN, Role
from nubes.identity.service import roles as roles_svc


def view(req: Request, r: Role) -> dict[str, Any]:
    return {**(r.extra or {}), "id": r.id, "name": r.name, "domain_id": roles_svc.api_domain_id(r),
            "description": r.description or None, "options": r.options or {},
            "links": self_link(req, f"roles/{r.id}")}


def brief(req: Request, r: Role) -> dict[str, Any]:
    """A role as an inference rule shows it."""
    return {"id": r.id, "name": r.name, "links": self_link(req, f"roles/{r.id}")}


def _target(r: Role) -> dict[str, Any]:
    return {"target": {"role": {"id": r.id, "name": r.name, "domain_id": roles_svc.api_domain_id(r)}}}


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


def _prohibited(req: Request) -> tuple[str, ...] | list[str]:
    return getattr(req.rt.service_conf, "prohibited_implied_role", roles_svc.PROHIBITED_IMPLIED_ROLES)


async def _authorized_role(req: Request, s, role_id: str, action: str) -> Role:
    """Load the role and enforce ``identity:<action>_role`` (``<action>_domain_role`` for a domain's).

    As Keystone does, a missing role is only reported to a caller the global rule allows.
    """
    role = await roles_svc.find(s, role_id)
    if role is None:
        req.ctx.can(f"identity:{action}_role", {"target": {"role": {"id": role_id}}})
        await roles_svc.get(s, role_id)  # raises NotFound
    if roles_svc.is_domain_specific(role):
        req.ctx.can(f"identity:{action}_domain_role", _target(role))
    else:
        req.ctx.can(f"identity:{action}_role", _target(role))
    return role


# -- roles --------------------------------------------------------------------------------------


async def list_roles(req: Request):
    q = req.query_params
    domain_id = q.get("domain_id") or None
    if domain_id:
        req.ctx.can("identity:list_domain_roles", {"target": {"domain_id": domain_id}})
    else:
        req.ctx.can("identity:list_roles", {"target": {"domain_id": None}})
    async with req.rt.db.reader() as s:
        rows = await roles_svc.list_roles(s, domain_id=domain_id or NULL_DOMAIN, name=q.get("name"))
    return json_response(collection(req, "roles", [view(req, r) for r in rows]))


async def create_role(req: Request):
    body = require_object(await read_json(req), "role")
    domain_id = body.get("domain_id")
    if domain_id:
        req.ctx.can("identity:create_domain_role", {"target": {"role": {"domain_id": domain_id}}})
    else:
        req.ctx.can("identity:create_role", {"target": {"role": {"domain_id": None}}})
    async with req.rt.db.session() as s:
        role = await roles_svc.create(s, body)
    return json_response({"role": view(req, role)}, 201)


async def show_role(req: Request):
    async with req.rt.db.reader() as s:
        role = await _authorized_role(req, s, req.path_params["role_id"], "get")
    return json_response({"role": view(req, role)})


async def update_role(req: Request):
    body = require_object(await read_json(req), "role")
    async with req.rt.db.session() as s:
        role = await _authorized_role(req, s, req.path_params["role_id"], "update")
        renamed = "name" in body and body["name"] != role.name
        await roles_svc.update(s, role, body)
    if renamed:  # token bodies carry role names
        await _tokens(req).announce("role renamed")
    return json_response({"role": view(req, role)})


async def delete_role(req: Request):
    async with req.rt.db.session() as s:
        role = await _authorized_role(req, s, req.path_params["role_id"], "delete")
        await roles_svc.delete(s, role)
    # Tokens re-compute their roles when validated: dropping the caches is enough for every
    # token that carried this role (directly or implied) to lose it, or to stop validating.
    await _tokens(req).announce("role deleted")
    return empty_response(204)


# -- implied roles ------------------------------------------------------------------------------


async def _rule_roles(req: Request, s, rule: str, with_implied: bool = True) -> tuple[Role, Role | None]:
    p = req.path_params
    prior = await roles_svc.find(s, p["prior_role_id"])
    implied = await roles_svc.find(s, p["implied_role_id"]) if with_implied else None
    target: dict[str, Any] = {}
    if prior is not None:
        target["prior_role"] = _target(prior)["target"]["role"]
    if implied is not None:
        target["implied_role"] = _target(implied)["target"]["role"]
    req.ctx.can(rule, {"target": target})
    if prior is None:
        await roles_svc.get(s, p["prior_role_id"])
    if with_implied and implied is None:
        await roles_svc.get(s, p["implied_role_id"])
    return prior, implied  # type: ignore[return-value]


def _rule_body(req: Request, prior: Role, implied: Role) -> dict[str, Any]:
    return {"role_inference": {"prior_role": brief(req, prior), "implies": brief(req, implied)},
            "links": self_link(req, f"roles/{prior.id}/implies/{implied.id}")}


async def list_implied_roles(req: Request):
    async with req.rt.db.reader() as s:
        prior, _ = await _rule_roles(req, s, "identity:list_implied_roles", with_implied=False)
        implied = await roles_svc.implied_by(s, prior)
    return json_response({"role_inference": {"prior_role": brief(req, prior),
                                             "implies": [brief(req, r) for r in implied]},
                          "links": self_link(req, f"roles/{prior.id}/implies")})


async def create_implied_role(req: Request):
    async with req.rt.db.session() as s:
        prior, implied = await _rule_roles(req, s, "identity:create_implied_role")
        await roles_svc.create_rule(s, prior, implied, _prohibited(req))
    await _tokens(req).announce("implied role created")
    return json_response(_rule_body(req, prior, implied), 201)


async def show_implied_role(req: Request):
    async with req.rt.db.reader() as s:
        prior, implied = await _rule_roles(req, s, "identity:get_implied_role")
        await roles_svc.check_rule(s, prior, implied)
    return json_response(_rule_body(req, prior, implied))


async def check_implied_role(req: Request):
    async with req.rt.db.reader() as s:
        prior, implied = await _rule_roles(req, s, "identity:check_implied_role")
        await roles_svc.check_rule(s, prior, implied)
    return empty_response(204)


async def delete_implied_role(req: Request):
    async with req.rt.db.session() as s:
        prior, implied = await _rule_roles(req, s, "identity:delete_implied_role")
        await roles_svc.delete_rule(s, prior, implied)
    await _tokens(req).announce("implied role deleted")
    return empty_response(204)


async def list_role_inferences(req: Request):
    req.ctx.can("identity:list_role_inference_rules", {})
    async with req.rt.db.reader() as s:
        pairs = await roles_svc.inference_rules(s)
    items = [{"prior_role": brief(req, prior), "implies": [brief(req, r) for r in implied]}
             for prior, implied in pairs]
    return json_response(collection(req, "role_inferences", items))

