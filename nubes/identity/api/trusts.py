"""/v3/OS-TRUST/trusts: create, list, show and delete trusts, and the roles they delegate."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json, require_object
from nubes.identity.api.roles import view as role_view
from nubes.identity.api.views import base_url, collection
from nubes.identity.db.models import ApplicationCredential, Role, Trust
from nubes.identity.db.queries import roles as role_q
from nubes.identity.exceptions import NotFound
from nubes.identity.service import trusts as trust_svc


def _link(req: Request, trust_id: str) -> str:
    return f"{base_url(req)}/v3/OS-TRUST/trusts/{trust_id}"


def view(req: Request, t: Trust, roles: list[Role] | None = None) -> dict[str, Any]:
    """A trust as Keystone shows it; ``roles`` only for a single trust (lists leave them out)."""
    out: dict[str, Any] = {
        **(t.extra or {}),
        "id": t.id, "trustor_user_id": t.trustor_user_id, "trustee_user_id": t.trustee_user_id,
        "project_id": t.project_id, "impersonation": bool(t.impersonation),
        "expires_at": trust_svc.expiry_text(t.expires_at), "remaining_uses": t.remaining_uses,
        "redelegation_count": t.redelegation_count, "allow_redelegation": t.redelegation_count > 0,
        "redelegated_trust_id": t.redelegated_trust_id,
        "links": {"self": _link(req, t.id)},
    }
    if roles is not None:
        out["roles"] = [role_view(req, r) for r in roles]
        out["roles_links"] = {"self": f"{_link(req, t.id)}/roles", "next": None, "previous": None}
    return out


def _target(t: Trust | dict[str, Any]) -> dict[str, Any]:
    trust = t if isinstance(t, dict) else {"id": t.id, "trustor_user_id": t.trustor_user_id,
                                           "trustee_user_id": t.trustee_user_id,
                                           "project_id": t.project_id}
    # Keystone's create rule reads trust.*, the others target.trust.*: both are given.
    return {"trust": trust, "target": {"trust": trust}}


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


async def _trust_roles(s, t: Trust) -> list[Role]:
    rows = await role_q.by_ids(s, t.roles or [])
    return sorted(rows.values(), key=lambda r: r.name)


async def _check_unrestricted(req: Request, s) -> None:
    """A restricted application credential manages no trusts (Keystone's _check_unrestricted)."""
    if req.ctx.app_cred_id:
        cred = await s.get(ApplicationCredential, req.ctx.app_cred_id)
        if cred is None or not cred.unrestricted:
            raise trust_svc.forbidden("Using method 'application_credential' is not allowed for "
                                      "managing trusts")


async def create_trust(req: Request):
    body = require_object(await read_json(req), "trust")
    new = trust_svc.check_create(body)
    req.ctx.can("identity:create_trust", _target({"trustor_user_id": new.trustor_user_id,
                                                  "trustee_user_id": new.trustee_user_id,
                                                  "project_id": new.project_id}))
    if req.ctx.user_id != new.trustor_user_id:
        raise trust_svc.forbidden("The authenticated user should match the trustor")
    parent_id = req.ctx.trust_id       # a trust-scoped token redelegates its trust
    async with req.rt.db.session() as s:
        await _check_unrestricted(req, s)
        parent = None
        if parent_id is not None:
            parent = await trust_svc.get(s, parent_id)
        trust = await trust_svc.create(s, new, parent=parent,
                                       max_count=req.rt.service_conf.max_redelegation_count)
        out = view(req, trust, await _trust_roles(s, trust))
    return json_response({"trust": out}, 201)


async def list_trusts(req: Request):
    q = req.query_params
    trustor, trustee = q.get("trustor_user_id"), q.get("trustee_user_id")
    if trustor:
        req.ctx.can("identity:list_trusts_for_trustor", _target({"trustor_user_id": trustor}))
    elif trustee:
        req.ctx.can("identity:list_trusts_for_trustee", _target({"trustee_user_id": trustee}))
    else:
        req.ctx.can("identity:list_trusts", {})
    async with req.rt.db.reader() as s:
        rows = await trust_svc.list_trusts(s, trustor_user_id=trustor or None,
                                           trustee_user_id=None if trustor else trustee or None)
    return json_response(collection(req, "trusts", [view(req, t) for t in rows]))


async def _authorized(req: Request, s, rule: str) -> Trust:
    # As Keystone: a missing (or used-up) trust is a 404 before the policy is asked.
    trust = await trust_svc.get(s, req.path_params["trust_id"])
    req.ctx.can(rule, _target(trust))
    return trust


async def show_trust(req: Request):
    async with req.rt.db.reader() as s:
        trust = await _authorized(req, s, "identity:get_trust")
        out = view(req, trust, await _trust_roles(s, trust))
    return json_response({"trust": out})


async def delete_trust(req: Request):
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        trust = await s.get(Trust, req.path_params["trust_id"])
        if trust is None:
            raise NotFound("trust", req.path_params["trust_id"])
        req.ctx.can("identity:delete_trust", _target(trust))
        await _check_unrestricted(req, s)
        await s.delete(trust)          # its redelegated trusts go with it (ON DELETE CASCADE)
    await tokens.announce("trust deleted")
    return empty_response(204)


async def list_trust_roles(req: Request):
    async with req.rt.db.reader() as s:
        trust = await _authorized(req, s, "identity:list_roles_for_trust")
        roles = await _trust_roles(s, trust)
    return json_response({"roles": [role_view(req, r) for r in roles],
                          "links": {"self": f"{_link(req, trust.id)}/roles", "previous": None,
                                    "next": None}})


async def show_trust_role(req: Request):
    role_id = req.path_params["role_id"]
    async with req.rt.db.reader() as s:
        trust = await _authorized(req, s, "identity:get_role_for_trust")
        role = (await role_q.by_ids(s, [role_id])).get(role_id) if role_id in (trust.roles or []) else None
    if role is None:
        raise NotFound("role", role_id)
    return json_response({"role": role_view(req, role)})


async def check_trust_role(req: Request):
    await show_trust_role(req)
    return empty_response(200)


async def head_trusts(req: Request):
    await list_trusts(req)
    return empty_response(200)


async def head_trust(req: Request):
    await show_trust(req)
    return empty_response(200)


async def head_trust_roles(req: Request):
    await list_trust_roles(req)
    return empty_response(200)
