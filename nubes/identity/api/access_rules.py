"""/v3/users/{user_id}/access_rules: the access rules of a user's application credentials."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import AccessRule, User
from nubes.identity.exceptions import NotFound
from nubes.identity.service import access_rules as access_rule_svc


def view(req: Request, rule: AccessRule) -> dict[str, Any]:
    return {**access_rule_svc.ref(rule),
            "links": self_link(req, f"users/{rule.user_id}/access_rules/{rule.id}")}


def _target(user_id: str) -> dict[str, Any]:
    return {"target": {"user": {"id": user_id}}, "user_id": user_id}


async def _user(s, user_id: str) -> None:
    if await s.get(User, user_id) is None:
        raise NotFound("user", user_id)


async def list_access_rules(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:list_access_rules", _target(user_id))
    q = req.query_params
    async with req.rt.db.reader() as s:
        await _user(s, user_id)
        rows = await access_rule_svc.list_for_user(s, user_id, service=q.get("service"),
                                                   method=q.get("method"), path=q.get("path"))
    return json_response(collection(req, "access_rules", [view(req, r) for r in rows]))


async def show_access_rule(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:get_access_rule", _target(user_id))
    async with req.rt.db.reader() as s:
        rule = await access_rule_svc.get(s, user_id, req.path_params["access_rule_id"])
    return json_response({"access_rule": view(req, rule)})


async def delete_access_rule(req: Request):
    user_id = req.path_params["user_id"]
    req.ctx.can("identity:delete_access_rule", _target(user_id))
    async with req.rt.db.session() as s:
        rule = await access_rule_svc.get(s, user_id, req.path_params["access_rule_id"])
        await access_rule_svc.delete(s, rule)
    return empty_response(204)
