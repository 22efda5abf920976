"""/v3/groups: CRUD and membership."""

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
from nubes.identity.api import users as users_api  # circular with users.py: attributes used at call time
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import Group, User
from nubes.identity.db.queries import groups as group_q
from nubes.identity.db.queries import users as user_q
from nubes.identity.service import domains as rules
from nubes.identity.service import groups as groups_svc
from nubes.identity.service import users as users_svc


def view(req: Request, g: Group) -> dict[str, Any]:
    return {**(g.extra or {}), "id": g.id, "name": g.name, "domain_id": g.domain_id,
            "description": g.description or "", "links": self_link(req, f"groups/{g.id}")}


def _target(g: Group, user: User | None = None) -> dict[str, Any]:
    target: dict[str, Any] = {"group": {"id": g.id, "domain_id": g.domain_id}}
    if user is not None:
        target["user"] = {"id": user.id, "domain_id": user.domain_id}
    return {"target": target}


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


async def list_groups(req: Request):
    q = req.query_params
    domain_id = q.get("domain_id") or None
    req.ctx.can("identity:list_groups", {"target": {"domain_id": domain_id or req.ctx.domain_id}})
    async with req.rt.db.reader() as s:
        rows = await group_q.list_groups(s, domain_id=domain_id or req.ctx.domain_id, name=q.get("name"))
    return json_response(collection(req, "groups", [view(req, g) for g in rows]))


async def create_group(req: Request):
    body = require_object(await read_json(req), "group")
    domain_id = body.get("domain_id") or req.ctx.domain_id or rules.DEFAULT_DOMAIN
    req.ctx.can("identity:create_group", {"target": {"group": {"domain_id": domain_id}}})
    async with req.rt.db.session() as s:
        group = await groups_svc.create(s, req.ctx, body)
    return json_response({"group": view(req, group)}, 201)


async def show_group(req: Request):
    async with req.rt.db.reader() as s:
        group = await groups_svc.get(s, req.path_params["group_id"])
    req.ctx.can("identity:get_group", _target(group))
    return json_response({"group": view(req, group)})


async def update_group(req: Request):
    body = require_object(await read_json(req), "group")
    async with req.rt.db.session() as s:
        group = await groups_svc.get(s, req.path_params["group_id"])
        req.ctx.can("identity:update_group", _target(group))
        await groups_svc.update(s, group, body)
    return json_response({"group": view(req, group)})


async def delete_group(req: Request):
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        group = await groups_svc.get(s, req.path_params["group_id"])
        req.ctx.can("identity:delete_group", _target(group))
        members = await groups_svc.delete(s, group)
        for user_id in members:  # their roles through the group are gone
            await tokens.revoke(s, user_id=user_id)
    await tokens.announce("group deleted")
    return empty_response(204)


async def list_group_users(req: Request):
    q = req.query_params
    expiry = users_api.password_expiry_filter(q.get("password_expires_at"))
    async with req.rt.db.reader() as s:
        group = await groups_svc.get(s, req.path_params["group_id"])
        req.ctx.can("identity:list_users_in_group", _target(group))
        rows = await user_q.list_users(s, group_id=group.id, name=q.get("name"),
                                       domain_id=q.get("domain_id") or None,
                                       enabled=query_bool(q.get("enabled"), "enabled"))
        items = await users_api.user_views(req, s, rows, expiry)
    return json_response(collection(req, "users", items))


async def add_group_user(req: Request):
    async with req.rt.db.session() as s:
        group = await groups_svc.get(s, req.path_params["group_id"])
        user = await users_svc.get(s, req.path_params["user_id"])
        req.ctx.can("identity:add_user_to_group", _target(group, user))
        added = await group_q.add_member(s, group.id, user.id)
    if added:  # the user's tokens now carry the group's roles
        await _tokens(req).announce("group membership")
    return empty_response(204)


async def check_group_user(req: Request):
    async with req.rt.db.reader() as s:
        group = await groups_svc.get(s, req.path_params["group_id"])
        user = await users_svc.get(s, req.path_params["user_id"])
        req.ctx.can("identity:check_user_in_group", _target(group, user))
        if not await group_q.is_member(s, group.id, user.id):
            raise groups_svc.not_a_member(user.id, group.id)
    return empty_response(204)


async def remove_group_user(req: Request):
    group_id, user_id = req.path_params["group_id"], req.path_params["user_id"]
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        group = await groups_svc.get(s, group_id)
        user = await users_svc.get(s, user_id)
        req.ctx.can("identity:remove_user_from_group", _target(group, user))
        if not await group_q.remove_member(s, group.id, user.id):
            raise groups_svc.not_a_member(user.id, group.id)
        await tokens.revoke(s, user_id=user.id)
    await tokens.announce("group membership")
    return empty_response(204)
