"""Handlers for /os-keypairs."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import links
from nubes.compute.api import validation as v
from nubes.compute.db.models import KeyPair

P = "os_compute_api:os-keypairs"


def _schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"name": {"type": "string", "minLength": 1, "maxLength": 255},
                             "public_key": {"type": "string"}}
    required = ["name"]
    if version >= (2, 2):
        props["type"] = {"type": "string", "enum": ["ssh", "x509"]}
    if version >= (2, 10):
        props["user_id"] = {"type": "string"}
    if version >= (2, 92):
        required.append("public_key")
    return {"type": "object", "required": ["keypair"], "additionalProperties": False, "properties": {
        "keypair": {"type": "object", "required": required, "additionalProperties": False,
                    "properties": props}}}


def _user(req: Request, wanted: str | None) -> str:
    """The user whose key pairs are meant: the caller, or (2.10+, policy permitting) another one."""
    if wanted is not None and req.ctx.api_version < (2, 10):
        raise exc.BadRequest("Invalid input: user_id is not allowed before microversion 2.10.")
    return wanted or req.ctx.user_id or ""


def _view(req: Request, row: KeyPair, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name, "public_key": row.public_key, "fingerprint": row.fingerprint}
    if req.ctx.api_version >= (2, 2):
        out["type"] = row.type
    if full:
        from nubes.compute.api.times import isotime_us as isotime

        out.update({"user_id": row.user_id, "id": row.id, "created_at": isotime(row.created_at),
                    "deleted": False, "deleted_at": None, "updated_at": None})
    return out


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].keypairs


async def list_keypairs(req: Request):
    user_id = _user(req, req.query_params.get("user_id"))
    req.ctx.can(f"{P}:index", {"user_id": user_id, "project_id": req.ctx.project_id})
    limit = marker = None
    if req.ctx.api_version >= (2, 35):
        raw = req.query_params.get("limit")
        if raw is not None:
            if not raw.isdigit():
                raise exc.BadRequest(f"Invalid input for query parameters limit. Value: {raw}.")
            limit = min(int(raw), req.rt.service_conf.osapi_max_limit)
        marker = req.query_params.get("marker")
    rows = await _svc(req).list(user_id, limit=limit, marker=marker)
    body: dict[str, Any] = {"keypairs": [{"keypair": _view(req, r)} for r in rows]}
    if limit and len(rows) == limit:
        body["keypairs_links"] = links.next_link(req, "os-keypairs", rows[-1].name)
    return json_response(body)


async def create_keypair(req: Request):
    version = req.ctx.api_version
    body = v.validate(await read_json(req), _schema(version))["keypair"]
    user_id = _user(req, body.get("user_id"))
    req.ctx.can(f"{P}:create", {"user_id": user_id, "project_id": req.ctx.project_id})
    row, private = await _svc(req).create(user_id, body["name"].strip() if version < (2, 92) else body["name"],
                                          body.get("type", "ssh"), body.get("public_key"),
                                          relaxed_names=version >= (2, 92), project_id=req.ctx.project_id)
    out = _view(req, row)
    out["user_id"] = row.user_id
    if private is not None:
        out["private_key"] = private
    return json_response({"keypair": out}, 201 if version >= (2, 2) else 200)


async def show_keypair(req: Request):
    user_id = _user(req, req.query_params.get("user_id"))
    req.ctx.can(f"{P}:show", {"user_id": user_id, "project_id": req.ctx.project_id})
    row = await _svc(req).get(user_id, req.path_params["name"])
    return json_response({"keypair": _view(req, row, full=True)})


async def delete_keypair(req: Request):
    user_id = _user(req, req.query_params.get("user_id"))
    req.ctx.can(f"{P}:delete", {"user_id": user_id, "project_id": req.ctx.project_id})
    await _svc(req).delete(user_id, req.path_params["name"])
    return empty_response(204 if req.ctx.api_version >= (2, 2) else 202)
