"""/v3/registered_limits, /v3/limits and /v3/limits/model: unified limits (flat model)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json, require_object
from nubes.identity.api.views import collection, self_link
from nubes.identity.db.models import Limit, RegisteredLimit
from nubes.identity.db.queries import limits as limit_q
from nubes.identity.service import limits as limits_svc


def registered_view(req: Request, r: RegisteredLimit) -> dict[str, Any]:
    return {"id": r.id, "service_id": r.service_id, "region_id": r.region_id or None,
            "resource_name": r.resource_name, "default_limit": r.default_limit,
            "description": r.description or None,
            "links": self_link(req, f"registered_limits/{r.id}")}


def limit_view(req: Request, lim: Limit) -> dict[str, Any]:
    return {"id": lim.id, "project_id": lim.project_id or None, "domain_id": lim.domain_id or None,
            "service_id": lim.service_id, "region_id": lim.region_id or None,
            "resource_name": lim.resource_name, "resource_limit": lim.resource_limit,
            "description": lim.description or None, "links": self_link(req, f"limits/{lim.id}")}


def _limit_target(lim: Limit) -> dict[str, Any]:
    return {"target": {"limit": {"project_id": lim.project_id or None,
                                 "domain_id": lim.domain_id or None}}}


async def show_limit_model(req: Request):
    req.ctx.can("identity:get_limit_model", {})
    return json_response({"model": dict(limits_svc.MODEL)})


# -- registered limits ----------------------------------------------------------------------


async def list_registered_limits(req: Request):
    req.ctx.can("identity:list_registered_limits", {})
    q = req.query_params
    async with req.rt.db.reader() as s:
        rows = await limit_q.list_registered(s, service_id=q.get("service_id"),
                                             region_id=q.get("region_id"),
                                             resource_name=q.get("resource_name"))
    return json_response(collection(req, "registered_limits", [registered_view(req, r) for r in rows]))


async def show_registered_limit(req: Request):
    req.ctx.can("identity:get_registered_limit", {})
    async with req.rt.db.reader() as s:
        row = await limits_svc.get_registered(s, req.path_params["registered_limit_id"])
    return json_response({"registered_limit": registered_view(req, row)})


async def create_registered_limits(req: Request):
    req.ctx.can("identity:create_registered_limits", {})
    body = await read_json(req)
    async with req.rt.db.session() as s:
        rows = await limits_svc.create_registered(s, body)
        out = [registered_view(req, r) for r in rows]
    return json_response({"registered_limits": out}, 201)


async def update_registered_limit(req: Request):
    req.ctx.can("identity:update_registered_limit", {})
    body = require_object(await read_json(req), "registered_limit")
    async with req.rt.db.session() as s:
        row = await limits_svc.get_registered(s, req.path_params["registered_limit_id"])
        row = await limits_svc.update_registered(s, row, body)
        out = registered_view(req, row)
    return json_response({"registered_limit": out})


async def delete_registered_limit(req: Request):
    req.ctx.can("identity:delete_registered_limit", {})
    async with req.rt.db.session() as s:
        row = await limits_svc.get_registered(s, req.path_params["registered_limit_id"])
        await limits_svc.delete_registered(s, row)
    return empty_response(204)


# -- limits ---------------------------------------------------------------------------------


async def list_limits(req: Request):
    req.ctx.can("identity:list_limits", {})
    q = req.query_params
    filters: dict[str, str | None] = {k: q.get(k) for k in ("service_id", "region_id", "resource_name",
                                                           "project_id", "domain_id")}
    ctx = req.ctx
    if not (ctx.system_scope or ctx.is_admin):
        # Keystone shows every limit to system-scoped tokens; nubes to its admins too (the policy's
        # context_is_admin, so that the admin project's `openstack limit list` is an operator's view).
        # Everyone else sees the limits of their own scope only, as in Keystone.
        if ctx.project_id:
            if filters["project_id"] not in (None, ctx.project_id) or filters["domain_id"]:
                return json_response(collection(req, "limits", []))
            filters["project_id"] = ctx.project_id
        elif ctx.domain_id:
            if filters["domain_id"] not in (None, ctx.domain_id) or filters["project_id"]:
                return json_response(collection(req, "limits", []))
            filters["domain_id"] = ctx.domain_id
        else:
            return json_response(collection(req, "limits", []))
    async with req.rt.db.reader() as s:
        rows = await limit_q.list_limits(s, **filters)
    return json_response(collection(req, "limits", [limit_view(req, r) for r in rows]))


async def show_limit(req: Request):
    async with req.rt.db.reader() as s:
        row = await limits_svc.get_limit(s, req.path_params["limit_id"])
    req.ctx.can("identity:get_limit", _limit_target(row))
    return json_response({"limit": limit_view(req, row)})


async def create_limits(req: Request):
    req.ctx.can("identity:create_limits", {})
    body = await read_json(req)
    async with req.rt.db.session() as s:
        rows = await limits_svc.create_limits(s, body)
        out = [limit_view(req, r) for r in rows]
    return json_response({"limits": out}, 201)


async def update_limit(req: Request):
    req.ctx.can("identity:update_limit", {})
    body = require_object(await read_json(req), "limit")
    async with req.rt.db.session() as s:
        row = await limits_svc.get_limit(s, req.path_params["limit_id"])
        row = await limits_svc.update_limit(s, row, body)
        out = limit_view(req, row)
    return json_response({"limit": out})


async def delete_limit(req: Request):
    req.ctx.can("identity:delete_limit", {})
    async with req.rt.db.session() as s:
        row = await limits_svc.get_limit(s, req.path_params["limit_id"])
        await s.delete(row)
    return empty_response(204)
