"""Handlers for /v2.0/quotas: limits per project, the defaults, usage details, set and reset."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.context import RequestContext
from nubes.core.exceptions import NotImplementedYet
from nubes.network.api import attributes
from nubes.network.api import validators as v
from nubes.network.api.attributes import Attr
from nubes.network.exceptions import BadRequest
from nubes.network.service.quotas import MAX_LIMIT, RESOURCES

RESOURCE, COLLECTION = "quota", "quotas"

ATTRS = [Attr(r, v.integer(-1, MAX_LIMIT), post=False) for r in RESOURCES]


def _service(req: Request) -> Any:
    return req.rt.extra["network"].quotas


def _target(project_id: str) -> dict[str, Any]:
    return {"project_id": project_id, "tenant_id": project_id}


def _may_read(ctx: RequestContext, project_id: str) -> None:
    """A project reads its own quotas; another project's need the get_quota rule (admins)."""
    if project_id != ctx.project_id:
        ctx.can("get_quota", _target(project_id))


def _project_id(req: Request) -> str:
    project_id = req.path_params["project_id"]
    if not project_id or len(project_id) > 255:
        raise BadRequest(f"Invalid project ID {project_id!r}")
    return project_id


async def list_quotas(req: Request):
    ctx = req.ctx
    everything = await _service(req).all()
    items = [{**limits, "project_id": p, "tenant_id": p} for p, limits in everything.items()
             if ctx.allowed("get_quota", _target(p))]
    return json_response({COLLECTION: items})


async def show_own_project(req: Request):
    if not req.ctx.project_id:
        raise BadRequest("Tenant-id was missing from quota request.")
    return json_response({"project": {"project_id": req.ctx.project_id}})


async def show_own_tenant(req: Request):
    if not req.ctx.project_id:
        raise BadRequest("Tenant-id was missing from quota request.")
    return json_response({"tenant": {"tenant_id": req.ctx.project_id}})


async def show_quota(req: Request):
    project_id = _project_id(req)
    _may_read(req.ctx, project_id)
    return json_response({RESOURCE: await _service(req).show(project_id)})


async def show_default_quota(req: Request):
    project_id = _project_id(req)
    _may_read(req.ctx, project_id)
    return json_response({RESOURCE: _service(req).defaults()})


async def show_quota_details(req: Request):
    project_id = _project_id(req)
    _may_read(req.ctx, project_id)
    return json_response({RESOURCE: await _service(req).details(project_id)})


async def create_quota(req: Request):
    raise NotImplementedYet("POST requests are not supported on this resource.")


async def update_quota(req: Request):
    ctx = req.ctx
    project_id = _project_id(req)
    ctx.can("update_quota", _target(project_id))
    item = dict(attributes.envelope(await read_json(req), RESOURCE))
    force = item.pop("force", None)
    check_limit = item.pop("check_limit", None)
    for name, flag in (("force", force), ("check_limit", check_limit)):
        if flag is not None:
            try:
                v.boolean(flag)
            except ValueError as exc:
                raise BadRequest(f"Invalid input for {name}. Reason: {exc}.") from None
    for key in ("project_id", "tenant_id"):      # some clients echo the id; it must be this one
        if key in item and item.pop(key) != project_id:
            raise BadRequest(f"Invalid input for {key}. Reason: it does not match the URL.")
    values = attributes.parse(item, ATTRS, create=False)
    limits = await _service(req).update(project_id, values,
                                        check_limit=bool(check_limit and v.boolean(check_limit)
                                                         and not (force and v.boolean(force))))
    return json_response({RESOURCE: limits})


async def delete_quota(req: Request):
    ctx = req.ctx
    project_id = _project_id(req)
    ctx.can("delete_quota", _target(project_id))
    await _service(req).reset(project_id)
    return empty_response(204)
