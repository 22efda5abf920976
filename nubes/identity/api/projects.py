"""/v3/projects: CRUD, the hierarchy views of show, list filters and the /tags sub-API."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.api.http import (
    Request,
    empty_response,
    json_response,
    query_bool,
    read_json,
    require_object,
)
from nubes.identity.api.views import base_url, collection, self_link
from nubes.identity.db.models import Domain, Project
from nubes.identity.db.queries import domains as domain_q
from nubes.identity.db.queries import projects as project_q
from nubes.identity.exceptions import NotFound, ValidationError
from nubes.identity.service import domains as rules
from nubes.identity.service import projects as projects_svc


def view(req: Request, p: Project, tags: list[str]) -> dict[str, Any]:
    return {**(p.extra or {}), "id": p.id, "name": p.name, "domain_id": p.domain_id,
            "description": p.description or "", "enabled": p.enabled,
            "parent_id": p.parent_id or p.domain_id, "is_domain": False, "tags": tags,
            "options": p.options or {}, "links": self_link(req, f"projects/{p.id}")}


def domain_as_project(req: Request, d: Domain) -> dict[str, Any]:
    """A domain as Keystone shows it among projects (is_domain=true)."""
    return {"id": d.id, "name": d.name, "domain_id": None, "description": d.description or "",
            "enabled": d.enabled, "parent_id": None, "is_domain": True, "tags": list(d.tags or []),
            "options": d.options or {}, "links": self_link(req, f"projects/{d.id}")}


async def views(req: Request, s: AsyncSession, rows: list[Project]) -> list[dict[str, Any]]:
    tags = await project_q.tags_of(s, [p.id for p in rows])
    return [view(req, p, tags[p.id]) for p in rows]


def _target(p: Project) -> dict[str, Any]:
    return {"target": {"project": {"id": p.id, "domain_id": p.domain_id}}}


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


def _tag_list(req: Request, name: str) -> list[str] | None:
    raw = req.query_params.get(name)
    if raw is None:
        return None
    return [rules.tag(t, name) for t in raw.split(",")]


async def list_projects(req: Request):
    q = req.query_params
    domain_id = q.get("domain_id") or None
    req.ctx.can("identity:list_projects", {"target": {"domain_id": domain_id or req.ctx.domain_id}})
    enabled = query_bool(q.get("enabled"), "enabled")
    is_domain = query_bool(q.get("is_domain"), "is_domain")
    filters = {"tags": _tag_list(req, "tags"), "tags_any": _tag_list(req, "tags-any"),
               "not_tags": _tag_list(req, "not-tags"), "not_tags_any": _tag_list(req, "not-tags-any")}
    parent_id = q.get("parent_id") or None
    async with req.rt.db.reader() as s:
        if is_domain:
            rows = await domain_q.list_domains(s, name=q.get("name"), enabled=enabled)
            if req.ctx.domain_id:
                rows = [d for d in rows if d.id == req.ctx.domain_id]
            items = [domain_as_project(req, d) for d in rows
                     if domain_id is None and parent_id is None and not any(filters.values())]
            return json_response(collection(req, "projects", items))
        top_level_of = None
        if parent_id is not None and await s.get(Domain, parent_id) is not None:
            top_level_of, parent_id = parent_id, None  # the parent is a domain: its root projects
        rows = await project_q.list_projects(s, domain_id=domain_id, name=q.get("name"),
                                             enabled=enabled, parent_id=parent_id,
                                             top_level_of=top_level_of, **filters)
        if req.ctx.domain_id:  # a domain-scoped token sees its own domain only
            rows = [p for p in rows if p.domain_id == req.ctx.domain_id]
        items = await views(req, s, rows)
    return json_response(collection(req, "projects", items))


async def create_project(req: Request):
    body = require_object(await read_json(req), "project")
    req.ctx.can("identity:create_project", {"target": {"project": body}})
    async with req.rt.db.session() as s:
        project, tags = await projects_svc.create(s, req.ctx, body)
    return json_response({"project": view(req, project, tags)}, 201)


async def _related(req: Request, s: AsyncSession, rows: list[Project]) -> list[dict[str, Any]]:
    """parents/subtree as lists hold only the projects the caller has a role on (Keystone)."""
    mine = await project_q.project_ids_for_user(s, req.ctx.user_id) if req.ctx.user_id else set()
    return [{"project": item} for item in await views(req, s, [p for p in rows if p.id in mine])]


async def show_project(req: Request):
    project_id = req.path_params["project_id"]
    q = req.query_params
    flags = {k: bool(query_bool(q.get(k), k)) if k in q else False
             for k in ("parents_as_list", "parents_as_ids", "subtree_as_list", "subtree_as_ids")}
    if flags["parents_as_list"] and flags["parents_as_ids"]:
        raise ValidationError("Cannot use parents_as_list and parents_as_ids query params at the same time.")
    if flags["subtree_as_list"] and flags["subtree_as_ids"]:
        raise ValidationError("Cannot use subtree_as_list and subtree_as_ids query params at the same time.")
    async with req.rt.db.reader() as s:
        project = await projects_svc.get(s, project_id)
        req.ctx.can("identity:get_project", _target(project))
        body = view(req, project, await projects_svc.get_tags(s, project.id))
        if flags["parents_as_list"]:
            body["parents"] = await _related(req, s, await project_q.ancestors(s, project))
        elif flags["parents_as_ids"]:
            body["parents"] = await projects_svc.parents_as_ids(s, project)
        if flags["subtree_as_list"]:
            body["subtree"] = await _related(req, s, await project_q.subtree(s, project.id))
        elif flags["subtree_as_ids"]:
            body["subtree"] = await projects_svc.subtree_as_ids(s, project)
    return json_response({"project": body})


async def update_project(req: Request):
    project_id = req.path_params["project_id"]
    body = require_object(await read_json(req), "project")
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        project = await projects_svc.get(s, project_id)
        req.ctx.can("identity:update_project", _target(project))
        disabled = await projects_svc.update(s, project, body)
        if disabled:
            await tokens.revoke(s, project_id=project.id)
        tags = await projects_svc.get_tags(s, project.id)
    if disabled:
        await tokens.announce("project disabled")
    return json_response({"project": view(req, project, tags)})


async def delete_project(req: Request):
    project_id = req.path_params["project_id"]
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        project = await projects_svc.get(s, project_id)
        req.ctx.can("identity:delete_project", _target(project))
        await projects_svc.delete(s, project)
        await tokens.revoke(s, project_id=project.id)
    await tokens.announce("project deleted")
    return empty_response(204)


# -- /v3/projects/{id}/tags -----------------------------------------------------------------------


def _tags_body(req: Request, tags: list[str]) -> dict[str, Any]:
    return {"tags": tags, "links": {"self": f"{base_url(req)}{req.url.path}"}}


async def list_project_tags(req: Request):
    async with req.rt.db.reader() as s:
        project = await projects_svc.get(s, req.path_params["project_id"])
        req.ctx.can("identity:list_project_tags", _target(project))
        tags = await projects_svc.get_tags(s, project.id)
    return json_response(_tags_body(req, tags))


async def replace_project_tags(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or "tags" not in body:
        raise ValidationError("Expecting to find tags in the request body.")
    async with req.rt.db.session() as s:
        project = await projects_svc.get(s, req.path_params["project_id"])
        req.ctx.can("identity:update_project_tags", _target(project))
        tags = await projects_svc.replace_tags(s, project, body["tags"])
    return json_response(_tags_body(req, tags))


async def delete_project_tags(req: Request):
    async with req.rt.db.session() as s:
        project = await projects_svc.get(s, req.path_params["project_id"])
        req.ctx.can("identity:delete_project_tags", _target(project))
        await projects_svc.clear_tags(s, project)
    return empty_response(204)


async def check_project_tag(req: Request):
    tag = req.path_params["tag"]
    async with req.rt.db.reader() as s:
        project = await projects_svc.get(s, req.path_params["project_id"])
        req.ctx.can("identity:get_project_tag", _target(project))
        if tag not in await projects_svc.get_tags(s, project.id):
            raise NotFound("project tag", tag)
    return empty_response(204)


async def add_project_tag(req: Request):
    async with req.rt.db.session() as s:
        project = await projects_svc.get(s, req.path_params["project_id"])
        req.ctx.can("identity:create_project_tag", _target(project))
        tag = await projects_svc.add_tag(s, project, req.path_params["tag"])
    location = f"{base_url(req)}/v3/projects/{project.id}/tags/{quote(tag, safe='')}"
    return empty_response(201, headers={"Location": location})


async def delete_project_tag(req: Request):
    async with req.rt.db.session() as s:
        project = await projects_svc.get(s, req.path_params["project_id"])
        req.ctx.can("identity:delete_project_tag", _target(project))
        await projects_svc.remove_tag(s, project, req.path_params["tag"])
    return empty_response(204)
