"""Tokens and the /v3/auth/* discovery calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from nubes.core.api.http import Request, empty_response, json_response, query_bool, read_json
from nubes.identity.api.views import base_url, collection, self_link
from nubes.identity.db.models import Assignment, Domain, Project
from nubes.identity.db.queries import assignments as assignment_q
from nubes.identity.exceptions import ValidationError


def _svc(req: Request) -> Any:
    return req.rt.extra["identity"]


async def issue_token(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or "auth" not in body:
        raise ValidationError("Expecting to find auth in the request body.")
    svc = _svc(req)
    payload = await svc.authenticator.authenticate(body["auth"])
    token = svc.tokens.encode(payload)
    include_catalog = "nocatalog" not in req.query_params
    async with req.rt.db.reader() as s:
        rendered = await svc.tokens.render(s, payload, include_catalog=include_catalog)
    return json_response(rendered, 201, headers={"X-Subject-Token": token})


def _subject(req: Request) -> str:
    token = req.headers.get("x-subject-token")
    if not token:
        raise ValidationError("Expecting to find X-Subject-Token in the request headers.")
    return token


async def _validated_subject(req: Request, *, include_catalog: bool = True):
    token = _subject(req)
    allow_expired = bool(query_bool(req.query_params.get("allow_expired"), "allow_expired"))
    payload, body = await _svc(req).tokens.validate(token, allow_expired=allow_expired,
                                                   include_catalog=include_catalog)
    req.ctx.can("identity:validate_token", {"target": {"token": {"user_id": payload.user_id}}})
    return token, payload, body


async def validate_token(req: Request):
    include_catalog = "nocatalog" not in req.query_params
    token, _, body = await _validated_subject(req, include_catalog=include_catalog)
    return json_response(body, headers={"X-Subject-Token": token})


async def check_token(req: Request):
    token, _, _ = await _validated_subject(req, include_catalog=False)
    return empty_response(200, headers={"X-Subject-Token": token})


async def revoke_token(req: Request):
    token = _subject(req)
    tokens = _svc(req).tokens
    payload, _ = await tokens.validate(token, include_catalog=False)
    req.ctx.can("identity:revoke_token", {"target": {"token": {"user_id": payload.user_id}}})
    async with req.rt.db.session() as s:
        await tokens.revoke(s, audit_id=payload.audit_ids[0], expires_at=payload.expires_at)
    await tokens.announce("token")
    return empty_response(204)


async def show_auth_catalog(req: Request):
    req.ctx.can("identity:get_auth_catalog", {})
    if not (req.ctx.project_id or req.ctx.domain_id or req.ctx.system_scope):
        raise ValidationError("The catalog is only available with a scoped token.")
    async with req.rt.db.reader() as s:
        catalog = await _svc(req).tokens.catalog(s, project_id=req.ctx.project_id, user_id=req.ctx.user_id)
    return json_response({"catalog": catalog, "links": {"self": f"{base_url(req)}/v3/auth/catalog"}})


async def _scopes_of_user(s, user_id: str) -> tuple[set[str], set[str], bool]:
    """Projects, domains and system the user has any role on (through groups and inheritance)."""
    actors = [user_id, *await assignment_q.group_ids_of_user(s, user_id)]
    rows = (await s.execute(select(Assignment).where(Assignment.actor_id.in_(actors)))).scalars().all()
    projects, domains, system = set(), set(), False
    inherited_domains, inherited_projects = set(), set()
    for a in rows:
        if a.type.endswith("Project"):
            (inherited_projects if a.inherited else projects).add(a.target_id)
        elif a.type.endswith("Domain"):
            (inherited_domains if a.inherited else domains).add(a.target_id)
        elif a.type.endswith("System"):
            system = True
    if inherited_domains:
        rows = await s.execute(select(Project.id).where(Project.domain_id.in_(inherited_domains)))
        projects.update(rows.scalars())
    if inherited_projects:
        frontier = set(inherited_projects)
        while frontier:
            rows = await s.execute(select(Project.id).where(Project.parent_id.in_(frontier)))
            children = set(rows.scalars()) - projects
            projects |= children
            frontier = children
    return projects, domains, system


async def list_auth_projects(req: Request):
    req.ctx.can("identity:get_auth_projects", {})
    async with req.rt.db.reader() as s:
        project_ids, _, _ = await _scopes_of_user(s, req.ctx.user_id)
        rows = (await s.execute(select(Project).where(Project.id.in_(project_ids),
                                                      Project.enabled.is_(True)))).scalars().all()
        enabled_domains = set((await s.execute(
            select(Domain.id).where(Domain.enabled.is_(True)))).scalars())
    items = [{"id": p.id, "name": p.name, "domain_id": p.domain_id, "description": p.description,
              "enabled": p.enabled, "is_domain": False, "parent_id": p.parent_id or p.domain_id,
              "tags": [], "options": p.options or {}, "links": self_link(req, f"projects/{p.id}")}
             for p in sorted(rows, key=lambda p: p.name) if p.domain_id in enabled_domains]
    return json_response(collection(req, "projects", items))


async def list_auth_domains(req: Request):
    req.ctx.can("identity:get_auth_domains", {})
    async with req.rt.db.reader() as s:
        _, domain_ids, _ = await _scopes_of_user(s, req.ctx.user_id)
        rows = (await s.execute(select(Domain).where(Domain.id.in_(domain_ids),
                                                     Domain.enabled.is_(True)))).scalars().all()
    items = [{"id": d.id, "name": d.name, "description": d.description, "enabled": d.enabled,
              "tags": d.tags or [], "options": d.options or {},
              "links": self_link(req, f"domains/{d.id}")} for d in sorted(rows, key=lambda d: d.name)]
    return json_response(collection(req, "domains", items))


async def list_auth_system(req: Request):
    req.ctx.can("identity:get_auth_system", {})
    async with req.rt.db.reader() as s:
        _, _, system = await _scopes_of_user(s, req.ctx.user_id)
    return json_response({"system": [{"all": True}] if system else [],
                          "links": {"self": f"{base_url(req)}/v3/auth/system"}})

