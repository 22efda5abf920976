"""Handlers for /os-server-groups: policies below 2.64, policy and rules from 2.64."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.jsondoc import INT64_MAX
from nubes.compute import exceptions as exc
from nubes.compute.api import authz
from nubes.compute.api import validation as v
from nubes.compute.service.server_groups import GroupView

POLICIES = ["anti-affinity", "affinity"]
SOFT = ["soft-anti-affinity", "soft-affinity"]

G = f"{authz.P}:os-server-groups"


def _schema(version: tuple[int, int]) -> dict[str, Any]:
    allowed = POLICIES + (SOFT if version >= (2, 15) else [])
    props: dict[str, Any] = {"name": v.NAME}
    if version >= (2, 64):
        props["policy"] = {"type": "string", "enum": allowed}
        props["rules"] = {"type": "object", "properties": {"max_server_per_host": v.positive_integer()},
                          "additionalProperties": False}
        required = ["name", "policy"]
    else:
        props["policies"] = {"type": "array", "items": {"type": "string", "enum": allowed},
                             "uniqueItems": True, "minItems": 1, "maxItems": 1}
        required = ["name", "policies"]
    return {"type": "object", "required": ["server_group"], "additionalProperties": False, "properties": {
        "server_group": {"type": "object", "required": required, "additionalProperties": False,
                         "properties": props}}}


def view(req: Request, g: GroupView) -> dict[str, Any]:
    version, row = req.ctx.api_version, g.row
    out: dict[str, Any] = {"id": row.id, "name": row.name, "members": g.members}
    if version >= (2, 64):
        out["policy"] = row.policy
        out["rules"] = dict(row.rules or {})
    else:
        out["policies"] = [row.policy]
        out["metadata"] = {}
    if version >= (2, 13):
        out["project_id"] = row.project_id
        out["user_id"] = row.user_id
    return out


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].server_groups


async def create_server_group(req: Request):
    body = v.validate(await read_json(req), _schema(req.ctx.api_version))["server_group"]
    policy = body["policy"] if "policy" in body else body["policies"][0]
    rules = {k: int(val) for k, val in (body.get("rules") or {}).items()}
    if rules and policy != "anti-affinity":
        raise exc.BadRequest(f"Only anti-affinity policy supports rules; {policy} was given with "
                             f"{', '.join(rules)}.")
    authz.own(req, f"{G}:create")
    g = await _svc(req).create(req.ctx, body["name"], policy, rules)
    return json_response({"server_group": view(req, g)})


def _paging(req: Request) -> tuple[int | None, int]:
    out = []
    for name in ("limit", "offset"):
        raw = req.query_params.get(name)
        if raw is not None and (not raw.isdigit() or (name == "limit" and int(raw) < 1)):
            raise exc.BadRequest(f"Invalid input for query parameters {name}. Value: {raw}. "
                                 f"'{raw}' does not match '^[0-9]*$'")
        out.append(int(raw) if raw is not None else None)
    limit = min(out[0], req.rt.service_conf.osapi_max_limit) if out[0] else req.rt.service_conf.osapi_max_limit
    # An offset past every row is an empty page (and too big for SQL's OFFSET past 64 bits).
    return limit, min(out[1] or 0, INT64_MAX)


async def list_server_groups(req: Request):
    raw = req.query_params.get("all_projects")
    all_projects = raw is not None and (raw == "" or v.as_bool(raw))
    limit, offset = _paging(req)
    authz.own(req, f"{G}:index")
    if all_projects:
        authz.own(req, f"{G}:index:all_projects")
    groups = await _svc(req).list(req.ctx, all_projects=all_projects, limit=limit, offset=offset)
    return json_response({"server_groups": [view(req, g) for g in groups]})


async def show_server_group(req: Request):
    g = await _svc(req).show(req.ctx, req.path_params["group_id"])
    req.ctx.can(f"{G}:show", {"project_id": g.row.project_id, "user_id": g.row.user_id})
    return json_response({"server_group": view(req, g)})


async def delete_server_group(req: Request):
    req.ctx.can(f"{G}:delete", await _svc(req).owner(req.ctx, req.path_params["group_id"]))
    await _svc(req).delete(req.ctx, req.path_params["group_id"])
    return empty_response(204)
