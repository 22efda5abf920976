"""Grants: /v3/{projects|domains}/{id}/{users|groups}/{id}/roles, their OS-INHERIT forms, and the system's.

A change of grants changes the roles tokens carry.  Tokens re-compute their roles whenever
they are validated, so announcing the change (which drops every validation cache, here and
in the other services) is what makes a removed role disappear from existing tokens, and a
token left with no role on its scope stop validating (404), as Keystone does.
"""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.identity.api import roles as roles_api
from nubes.identity.api.views import collection
from nubes.identity.service import grants as grants_svc


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


def _system_rule(action: str, req: Request) -> str:
    kind = "user" if req.path_params["actor"] == "users" else "group"
    noun = "system_grants" if action == "list" else "system_grant"
    return f"identity:{action}_{noun}_for_{kind}"


async def _resolve(req: Request, s, *, inherited: bool, system: bool = False, with_role: bool = True,
                   allow_missing_actor: bool = False):
    p = req.path_params
    return await grants_svc.resolve(
        s, None if system else p["target"], p.get("target_id", ""), p["actor"],
        p["actor_id"], role_id=p["role_id"] if with_role else None, inherited=inherited,
        allow_missing_actor=allow_missing_actor)


# -- shared bodies of the project/domain, inherited and system forms -----------------------------


async def _list(req: Request, *, inherited: bool = False, system: bool = False):
    async with req.rt.db.reader() as s:
        grant, _ = await _resolve(req, s, inherited=inherited, system=system, with_role=False)
        rule = _system_rule("list", req) if system else "identity:list_grants"
        req.ctx.can(rule, grant.policy_target())
        rows = await grants_svc.roles_of(s, grant)
    return json_response(collection(req, "roles", [roles_api.view(req, r) for r in rows]))


async def _create(req: Request, *, inherited: bool = False, system: bool = False):
    async with req.rt.db.session() as s:
        grant, role = await _resolve(req, s, inherited=inherited, system=system)
        rule = _system_rule("create", req) if system else "identity:create_grant"
        req.ctx.can(rule, grant.policy_target(role))
        created = await grants_svc.create(s, grant, role)
    if created:
        await _tokens(req).announce("role granted")
    return empty_response(204)


async def _check(req: Request, *, inherited: bool = False, system: bool = False):
    async with req.rt.db.reader() as s:
        grant, role = await _resolve(req, s, inherited=inherited, system=system)
        rule = _system_rule("check", req) if system else "identity:check_grant"
        req.ctx.can(rule, grant.policy_target(role))
        await grants_svc.check(s, grant, role)
    return empty_response(204)


async def _revoke(req: Request, *, inherited: bool = False, system: bool = False):
    async with req.rt.db.session() as s:
        # A grant may outlive its user or group on some paths: allow cleaning it up.
        grant, role = await _resolve(req, s, inherited=inherited, system=system,
                                     allow_missing_actor=True)
        rule = _system_rule("revoke", req) if system else "identity:revoke_grant"
        req.ctx.can(rule, grant.policy_target(role))
        await grants_svc.revoke(s, grant, role)
    await _tokens(req).announce("role revoked")
    return empty_response(204)


# -- /v3/{projects|domains}/{id}/{users|groups}/{id}/roles ----------------------------------------


async def list_grants(req: Request):
    return await _list(req)


async def create_grant(req: Request):
    return await _create(req)


async def check_grant(req: Request):
    return await _check(req)


async def revoke_grant(req: Request):
    return await _revoke(req)


# -- /v3/OS-INHERIT/...: inherited by the projects below the target -----------------------------


async def list_inherited_grants(req: Request):
    return await _list(req, inherited=True)


async def create_inherited_grant(req: Request):
    return await _create(req, inherited=True)


async def check_inherited_grant(req: Request):
    return await _check(req, inherited=True)


async def revoke_inherited_grant(req: Request):
    return await _revoke(req, inherited=True)


# -- /v3/system/{users|groups}/{id}/roles -------------------------------------------------------


async def list_system_grants(req: Request):
    return await _list(req, system=True)


async def create_system_grant(req: Request):
    return await _create(req, system=True)


async def check_system_grant(req: Request):
    return await _check(req, system=True)


async def revoke_system_grant(req: Request):
    return await _revoke(req, system=True)
