"""/v3/domains: CRUD; a domain must be disabled before it (and all it owns) can be deleted."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import (
    Request,
    empty_response,
    json_response,
    query_bool,
    read_json,
    require_object,
)
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import Domain
from nubes.identity.db.queries import domains as domain_q
from nubes.identity.service import domains as domains_svc


def view(req: Request, d: Domain) -> dict[str, Any]:
    return {**(d.extra or {}), "id": d.id, "name": d.name, "description": d.description or "",
            "enabled": d.enabled, "tags": list(d.tags or []), "options": d.options or {},
            "links": self_link(req, f"domains/{d.id}")}


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


async def list_domains(req: Request):
    req.ctx.can("identity:list_domains", {"target": {"domain": {"id": req.ctx.domain_id}}}
                if req.ctx.domain_id else {})
    q = req.query_params
    async with req.rt.db.reader() as s:
        rows = await domain_q.list_domains(s, name=q.get("name"),
                                           enabled=query_bool(q.get("enabled"), "enabled"))
    if req.ctx.domain_id:  # a domain-scoped token sees its own domain only
        rows = [d for d in rows if d.id == req.ctx.domain_id]
    return json_response(collection(req, "domains", [view(req, d) for d in rows]))


async def create_domain(req: Request):
    body = require_object(await read_json(req), "domain")
    req.ctx.can("identity:create_domain", {"target": {"domain": body}})
    async with req.rt.db.session() as s:
        domain = await domains_svc.create(s, body)
    return json_response({"domain": view(req, domain)}, 201)


async def show_domain(req: Request):
    domain_id = req.path_params["domain_id"]
    async with req.rt.db.reader() as s:
        domain = await domains_svc.get(s, domain_id)
    req.ctx.can("identity:get_domain", {"target": {"domain": {"id": domain.id}}})
    return json_response({"domain": view(req, domain)})


async def update_domain(req: Request):
    domain_id = req.path_params["domain_id"]
    body = require_object(await read_json(req), "domain")
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        domain = await domains_svc.get(s, domain_id)
        req.ctx.can("identity:update_domain", {"target": {"domain": {"id": domain.id}}})
        disabled = await domains_svc.update(s, domain, body)
        if disabled:
            # Tokens scoped to the domain die by this event; tokens of its users and projects
            # stop validating because the domain is disabled (the caches are dropped below).
            await tokens.revoke(s, domain_id=domain.id)
    if disabled:
        await tokens.announce("domain disabled")
    return json_response({"domain": view(req, domain)})


async def delete_domain(req: Request):
    domain_id = req.path_params["domain_id"]
    async with req.rt.db.session() as s:
        domain = await domains_svc.get(s, domain_id)
        req.ctx.can("identity:delete_domain", {"target": {"domain": {"id": domain.id}}})
        await domains_svc.delete(s, domain)
    await _tokens(req).announce("domain deleted")
    return empty_response(204)
