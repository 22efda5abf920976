"""/v3/users/{user_id}/application_credentials."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json, require_object
from nubes.identity.api.credentials import check_not_ec2_derived
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import ApplicationCredential, Project, User
from nubes.identity.db.queries import app_creds as app_cred_q
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.exceptions import Forbidden, NotFound, ValidationError
from nubes.identity.service import application_credentials as app_cred_svc
from nubes.identity.service import passwords


def view(req: Request, c: ApplicationCredential, secret: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.id, "name": c.name, "description": c.description or None,
        "project_id": c.project_id,
        "roles": list(c.roles or []), "unrestricted": bool(c.unrestricted),
        "access_rules": list(c.access_rules or []),
        "expires_at": app_cred_svc.expiry_text(c.expires_at),
        "links": self_link(req, f"users/{c.user_id}/application_credentials/{c.id}"),
    }
    if secret is not None:
        out["secret"] = secret
    return out


def _target(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}}, "user_id": user_id}


async def _user(s, user_id: str) -> User:
    user = await s.get(User, user_id)
    if user is None:
        raise NotFound("user", user_id)
    return user


async def _calling_app_cred(s, req: Request) -> ApplicationCredential | None:
    if not req.ctx.app_cred_id:
        return None
    return await app_cred_q.get(s, req.ctx.app_cred_id)


async def list_app_creds(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:list_application_credentials", _target(user_id))
    async with req.rt.db.reader() as s:
        await _user(s, user_id)
        rows = await app_cred_q.list_for_user(s, user_id, name=req.query_params.get("name"))
    return json_response(collection(req, "application_credentials", [view(req, c) for c in rows]))


async def show_app_cred(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:get_application_credential", _target(user_id))
    async with req.rt.db.reader() as s:
        cred = await app_cred_svc.get_for_user(s, user_id, req.path_params["app_cred_id"])
    return json_response({"application_credential": view(req, cred)})


async def create_app_cred(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:create_application_credential", _target(user_id))
    if req.ctx.user_id != user_id:
        raise Forbidden("You are not authorized to perform the requested action: Cannot create "
                        "an application credential for another user.")
    check_not_ec2_derived(req)
    body = require_object(await read_json(req), "application_credential")
    project_id = req.ctx.project_id
    if not project_id:
        raise ValidationError("A project-scoped token is required to create an application "
                              "credential: the credential is bound to the token's project.")
    new = app_cred_svc.check_create(body)
    async with req.rt.db.reader() as s:
        parent = await _calling_app_cred(s, req)
        app_cred_svc.check_unrestricted(parent)
        if await app_cred_q.by_name(s, user_id, new.name) is not None:
            raise app_cred_svc.duplicate(new.name)
        project = await s.get(Project, project_id)
        if project is None:
            raise NotFound("project", project_id)
        available = await assignment_q.effective_roles(s, user_id, project=project)
        if parent is not None:  # an unrestricted credential delegates no more than it holds
            held = {r["id"] for r in parent.roles}
            available = [r for r in available if r.id in held]
        roles = await app_cred_svc.resolve_roles(s, new.requested_roles, available)
    secret_hash = await passwords.hash_password(new.secret, req.rt.service_conf.password_hash_rounds)
    async with req.rt.db.session() as s:
        cred = await app_cred_svc.create(s, new, user_id=user_id, project_id=project_id,
                                         roles=roles, secret_hash=secret_hash)
        out = view(req, cred, secret=new.secret)
    return json_response({"application_credential": out}, 201)


async def delete_app_cred(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:delete_application_credential", _target(user_id))
    tokens = req.rt.extra["identity"].tokens
    async with req.rt.db.session() as s:
        app_cred_svc.check_unrestricted(await _calling_app_cred(s, req))
        cred = await app_cred_svc.get_for_user(s, user_id, req.path_params["app_cred_id"])
        await s.delete(cred)
        await tokens.revoke(s, app_cred_id=cred.id)
    await tokens.announce("application credential deleted")
    return empty_response(204)
