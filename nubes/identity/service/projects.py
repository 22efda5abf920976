"""Projects: the hierarchy inside a domain, tags, enable/disable rules and deletion."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.core.exceptions import NotImplementedYet
from nubes.identity.db.models import Domain, Project
from nubes.identity.db.queries import projects as project_q
from nubes.identity.exceptions import Conflict, Forbidden, NotFound, ValidationError
from nubes.identity.service import domains as rules

# Keystone's [DEFAULT] max_project_tree_depth: projects below a domain, the new one included.
MAX_TREE_DEPTH = 5

PROJECT_FIELDS = frozenset({"name", "description", "domain_id", "parent_id", "enabled", "is_domain",
                            "tags", "options"})

IS_DOMAIN_UNSUPPORTED = ("Projects acting as domains (is_domain=true) are not supported by this "
                         "cloud; create a domain with POST /v3/domains instead.")


async def get(s: AsyncSession, project_id: str) -> Project:
    project = await s.get(Project, project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project


def _duplicate(project_name: str) -> Conflict:
    return Conflict("project", "it is not permitted to have two projects with the same name in "
                               f"the same domain : {project_name}")


async def _resolve_parent(s: AsyncSession, ctx: RequestContext,
                          body: dict[str, Any]) -> tuple[str, Project | None]:
    """(domain_id, parent project or None) of a new project, checked as Keystone checks them."""
    domain_id = rules.ident(body.get("domain_id"), "domain_id")
    parent_id = rules.ident(body.get("parent_id"), "parent_id")
    parent: Project | None = None
    if parent_id is not None:
        parent = await s.get(Project, parent_id)
        if parent is None:
            if await s.get(Domain, parent_id) is None:
                raise ValidationError(f"Could not find project: {parent_id}.")
            # The parent is a domain: a top-level project of that domain.
            if domain_id is not None and domain_id != parent_id:
                raise ValidationError(
                    f"Cannot create project, the parent ({parent_id}) is acting as a domain, but "
                    f"this project's domain id ({domain_id}) does not match the parent's id.")
            domain_id = parent_id
        elif domain_id is None:
            domain_id = parent.domain_id
        elif parent.domain_id != domain_id:
            raise ValidationError(
                f"Cannot create project, since it specifies its domain_id {domain_id}, but "
                f"specifies a parent in a different domain ({parent.domain_id}).")
    domain_id = domain_id or ctx.domain_id or rules.DEFAULT_DOMAIN
    if await s.get(Domain, domain_id) is None:
        raise ValidationError(f"Could not find domain: {domain_id}.")
    if parent is not None:
        branch = [parent, *await project_q.ancestors(s, parent)]
        for p in branch:
            if not p.enabled:
                raise ValidationError(
                    f"cannot create a project in a branch containing a disabled project: {p.id}")
        if len(branch) + 1 > MAX_TREE_DEPTH:
            raise Forbidden(f"Max hierarchy depth reached for {parent.id} branch.")
    return domain_id, parent


async def create(s: AsyncSession, ctx: RequestContext, body: dict[str, Any]) -> tuple[Project, list[str]]:
    if "name" not in body:
        raise ValidationError("'name' is a required property")
    project_name = rules.name(body["name"], strip=True)
    if "is_domain" in body and body["is_domain"] is not None and rules.strict_boolean(body["is_domain"], "is_domain"):
        raise NotImplementedYet(IS_DOMAIN_UNSUPPORTED)
    enabled = rules.strict_boolean(body.get("enabled", True), "enabled")
    description = rules.text(body.get("description"), "description")
    tag_list = rules.tags(body["tags"]) if body.get("tags") is not None else []
    opts = (rules.options(body["options"], rules.RESOURCE_OPTIONS)
            if body.get("options") is not None else {})
    domain_id, parent = await _resolve_parent(s, ctx, body)
    if await project_q.by_name(s, project_name, domain_id) is not None:
        raise _duplicate(project_name)
    row = Project(id=uuid.uuid4().hex, name=project_name, domain_id=domain_id,
                  parent_id=parent.id if parent else None, description=description, enabled=enabled,
                  options=opts, extra=rules.extra(body, PROJECT_FIELDS))
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(project_name) from None
    await project_q.set_tags(s, row.id, tag_list)
    return row, sorted(set(tag_list))


async def update(s: AsyncSession, project: Project, body: dict[str, Any]) -> bool:
    """Apply a PATCH; returns True when the project went from enabled to disabled."""
    rules.require_some(body, "project")
    rules.require_same_id(body, project.id)
    rules.check_immutable_update("project", project.id, project.options, body)
    if "domain_id" in body and body["domain_id"] != project.domain_id:
        raise ValidationError("Cannot change Domain ID")
    if "parent_id" in body and body["parent_id"] != (project.parent_id or project.domain_id):
        raise Forbidden("Update of `parent_id` is not allowed.")
    if "is_domain" in body and body["is_domain"] is not None and rules.strict_boolean(body["is_domain"], "is_domain"):
        raise ValidationError("Update of `is_domain` is not allowed.")
    was_enabled = project.enabled
    if "name" in body:
        new_name = rules.name(body["name"], strip=True)
        if new_name != project.name:
            other = await project_q.by_name(s, new_name, project.domain_id)
            if other is not None and other.id != project.id:
                raise _duplicate(new_name)
            project.name = new_name
    if "description" in body:
        project.description = rules.text(body["description"], "description")
    new_tags = rules.tags(body["tags"] or []) if "tags" in body else None
    if "options" in body:
        project.options = rules.options(body["options"] or {}, rules.RESOURCE_OPTIONS, project.options)
    if "enabled" in body:
        enabled = rules.strict_boolean(body["enabled"], "enabled")
        if (enabled and not was_enabled
                and any(not p.enabled for p in await project_q.ancestors(s, project))):
            raise Forbidden(f"Cannot enable project {project.id} since it has disabled parents")
        if (was_enabled and not enabled
                and any(p.enabled for p in await project_q.subtree(s, project.id))):
            raise Forbidden(f"Cannot disable project {project.id} since its subtree contains "
                            "enabled projects.")
        project.enabled = enabled
    project.extra = rules.extra(body, PROJECT_FIELDS, project.extra)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(project.name) from None
    if new_tags is not None:
        await project_q.set_tags(s, project.id, new_tags)
    return was_enabled and not project.enabled


async def delete(s: AsyncSession, project: Project) -> None:
    rules.check_immutable_delete("project", project.id, project.options)
    if await project_q.has_children(s, project.id):
        raise Forbidden(f"Cannot delete the project {project.id} since it is not a leaf in the "
                        "hierarchy. Use the cascade option if you want to delete a whole subtree.")
    await project_q.delete_projects(s, [project.id])


# -- tags ---------------------------------------------------------------------------------------


async def get_tags(s: AsyncSession, project_id: str) -> list[str]:
    return (await project_q.tags_of(s, [project_id]))[project_id]


async def replace_tags(s: AsyncSession, project: Project, value: Any) -> list[str]:
    rules.check_immutable_update("project", project.id, project.options, {"tags": value})
    new_tags = rules.tags(value)
    await project_q.set_tags(s, project.id, new_tags)
    return sorted(new_tags)


async def add_tag(s: AsyncSession, project: Project, value: str) -> str:
    rules.check_immutable_update("project", project.id, project.options, {"tags": value})
    new_tag = rules.tag(value, "tag")
    current = await get_tags(s, project.id)
    if new_tag not in current:
        rules.tags([*current, new_tag])  # the 80-tag limit
        await project_q.set_tags(s, project.id, [*current, new_tag])
    return new_tag


async def remove_tag(s: AsyncSession, project: Project, value: str) -> None:
    rules.check_immutable_update("project", project.id, project.options, {"tags": value})
    current = await get_tags(s, project.id)
    if value not in current:
        raise NotFound("project tag", value)
    await project_q.set_tags(s, project.id, [t for t in current if t != value])


async def clear_tags(s: AsyncSession, project: Project) -> None:
    rules.check_immutable_update("project", project.id, project.options, {"tags": []})
    await project_q.set_tags(s, project.id, [])


# -- hierarchy views ----------------------------------------------------------------------------


async def parents_as_ids(s: AsyncSession, project: Project) -> dict[str, Any]:
    """{parent: {grandparent: ... {domain: None}}}: Keystone counts the domain as the root project."""
    chain = [p.id for p in await project_q.ancestors(s, project)] + [project.domain_id]
    out: dict[str, Any] | None = None
    for pid in reversed(chain):
        out = {pid: out}
    return out or {}


async def subtree_as_ids(s: AsyncSession, project: Project) -> dict[str, Any] | None:
    below = await project_q.subtree(s, project.id)
    by_parent: dict[str, list[str]] = {}
    for p in below:
        by_parent.setdefault(p.parent_id or "", []).append(p.id)

    def walk(pid: str) -> dict[str, Any] | None:
        kids = by_parent.get(pid)
        return {k: walk(k) for k in kids} if kids else None

    return walk(project.id)
