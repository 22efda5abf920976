"""/v3/users: CRUD, self-service password change, a user's groups and projects."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.api.http import (
    Request,
    empty_response,
    json_response,
    query_bool,
    read_json,
    require_object,
)
from nubes.identity.api import groups as groups_api
from nubes.identity.api import projects as projects_api
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import Password, User
from nubes.identity.db.queries import groups as group_q
from nubes.identity.db.queries import projects as project_q
from nubes.identity.db.queries import users as user_q
from nubes.identity.exceptions import ValidationError
from nubes.identity.service import domains as rules
from nubes.identity.service import users as users_svc
from nubes.identity.service.tokens import isotime


def view(req: Request, u: User, pw: Password | None) -> dict[str, Any]:
    out: dict[str, Any] = {**(u.extra or {}), "id": u.id, "name": u.name, "domain_id": u.domain_id,
                           "enabled": u.enabled, "options": u.options or {}}
    expires = users_svc.password_expires_at(u, pw)
    out["password_expires_at"] = isotime(expires) if expires else None
    # Keystone leaves out what was never set.
    if u.default_project_id:
        out["default_project_id"] = u.default_project_id
    if u.description:
        out["description"] = u.description
    if u.email is not None:
        out["email"] = u.email
    out["links"] = self_link(req, f"users/{u.id}")
    return out


_OPERATORS: dict[str, Callable[[datetime, datetime], bool]] = {
    "lt": lambda a, b: a < b, "lte": lambda a, b: a <= b, "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b, "eq": lambda a, b: a == b, "neq": lambda a, b: a != b}
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z?$")


def password_expiry_filter(raw: str | None) -> Callable[[datetime | None], bool] | None:
    """?password_expires_at={lt,lte,gt,gte,eq,neq}:YYYY-MM-DDTHH:mm:ssZ (eq when no operator)."""
    if raw is None:
        return None
    op, sep, ts = raw.partition(":")
    if not sep or not op.isalpha():
        op, ts = "eq", raw
    if op not in _OPERATORS:
        raise ValidationError(f"The given operator {op} is not valid. It must be one of the "
                              "following: 'eq', 'neq', 'lt', 'lte', 'gt', or 'gte'.")
    if not _TS.match(ts):
        raise ValidationError("Timestamp not in expected format. The server could not comply with "
                              "the request since it is either malformed or otherwise incorrect. "
                              "The client is assumed to be in error.")
    when = datetime.fromisoformat(ts.rstrip("Z")).replace(tzinfo=UTC)
    compare = _OPERATORS[op]
    return lambda expires: expires is not None and compare(expires, when)


async def user_views(req: Request, s: AsyncSession, rows: list[User],
                     expiry: Callable[[datetime | None], bool] | None = None) -> list[dict[str, Any]]:
    pws = await user_q.current_passwords(s, [u.id for u in rows])
    if expiry is not None:
        rows = [u for u in rows if expiry(users_svc.password_expires_at(u, pws.get(u.id)))]
    return [view(req, u, pws.get(u.id)) for u in rows]


def _target(u: User) -> dict[str, Any]:
    return {"target": {"user": {"id": u.id, "domain_id": u.domain_id}}, "user_id": u.id}


def _tokens(req: Request) -> Any:
    return req.rt.extra["identity"].tokens


async def list_users(req: Request):
    q = req.query_params
    domain_id = q.get("domain_id") or None
    req.ctx.can("identity:list_users", {"target": {"domain_id": domain_id or req.ctx.domain_id}})
    enabled = query_bool(q.get("enabled"), "enabled")
    expiry = password_expiry_filter(q.get("password_expires_at"))
    async with req.rt.db.reader() as s:
        rows = await user_q.list_users(s, domain_id=domain_id or req.ctx.domain_id,
                                       name=q.get("name"), enabled=enabled)
        items = await user_views(req, s, rows, expiry)
    return json_response(collection(req, "users", items))


async def create_user(req: Request):
    body = require_object(await read_json(req), "user")
    conf = req.rt.service_conf
    domain_id = body.get("domain_id") or req.ctx.domain_id or rules.DEFAULT_DOMAIN
    req.ctx.can("identity:create_user", {"target": {"user": {"domain_id": domain_id}}})
    changes = users_svc.check_create(req.ctx, body, conf)
    pw_hash = await users_svc.hash_for(conf, changes)
    async with req.rt.db.session() as s:
        user = await users_svc.create(s, changes, pw_hash, conf)
        pw = await user_q.current_password(s, user.id)
    return json_response({"user": view(req, user, pw)}, 201)


async def show_user(req: Request):
    async with req.rt.db.reader() as s:
        user = await users_svc.get(s, req.path_params["user_id"])
        req.ctx.can("identity:get_user", _target(user))
        pw = await user_q.current_password(s, user.id)
    return json_response({"user": view(req, user, pw)})


async def update_user(req: Request):
    user_id = req.path_params["user_id"]
    body = require_object(await read_json(req), "user")
    conf = req.rt.service_conf
    tokens = _tokens(req)
    async with req.rt.db.reader() as s:
        user = await users_svc.get(s, user_id)
    req.ctx.can("identity:update_user", _target(user))
    changes = users_svc.check_update(user, body, conf)
    pw_hash = await users_svc.hash_for(conf, changes)
    async with req.rt.db.session() as s:
        user = await users_svc.get(s, user_id)
        changes = users_svc.check_update(user, body, conf)  # against the row as it is now
        revoke = await users_svc.update(s, user, changes, pw_hash, conf)
        if revoke:
            await tokens.revoke(s, user_id=user.id)
        pw = await user_q.current_password(s, user.id)
    if revoke:
        await tokens.announce("user changed")
    return json_response({"user": view(req, user, pw)})


async def delete_user(req: Request):
    tokens = _tokens(req)
    async with req.rt.db.session() as s:
        user = await users_svc.get(s, req.path_params["user_id"])
        req.ctx.can("identity:delete_user", _target(user))
        await users_svc.delete(s, user)
        await tokens.revoke(s, user_id=user.id)
    await tokens.announce("user deleted")
    return empty_response(204)


async def change_password(req: Request):
    """Public route: the original password authenticates the caller, so an expired one works."""
    original, new = users_svc.check_change_body(await read_json(req))
    await users_svc.change_password(req.rt, req.path_params["user_id"], original, new)
    return empty_response(204)


async def list_user_groups(req: Request):
    async with req.rt.db.reader() as s:
        user = await users_svc.get(s, req.path_params["user_id"])
        req.ctx.can("identity:list_groups_for_user", _target(user))
        rows = await group_q.list_groups(s, member_id=user.id, name=req.query_params.get("name"))
    if req.ctx.domain_id:
        rows = [g for g in rows if g.domain_id == req.ctx.domain_id]
    items = [{**groups_api.view(req, g), "membership_expires_at": None} for g in rows]
    return json_response(collection(req, "groups", items))


async def list_user_projects(req: Request):
    q = req.query_params
    async with req.rt.db.reader() as s:
        user = await users_svc.get(s, req.path_params["user_id"])
        req.ctx.can("identity:list_user_projects", _target(user))
        ids = await project_q.project_ids_for_user(s, user.id)
        rows = await project_q.list_projects(s, ids=ids, domain_id=q.get("domain_id") or None,
                                             name=q.get("name"),
                                             enabled=query_bool(q.get("enabled"), "enabled"))
        items = await projects_api.views(req, s, rows)
    return json_response(collection(req, "projects", items))
