"""Handlers for /os-services: list, enable/disable and force down (both forms), delete."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.api.jsonschema import is_uuid
from nubes.compute import exceptions as exc
from nubes.compute.api import times
from nubes.compute.api import validation as v
from nubes.compute.service.hosts import ServiceView

P = "os_compute_api:os-services"
FQDN = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9-._]*$"}
BINARY = {"type": "string", "minLength": 1, "maxLength": 255}
REASON = {"type": "string", "minLength": 1, "maxLength": 255}
QUERY = {"type": "object", "properties": {"host": {"type": "string"}, "binary": {"type": "string"}},
         "additionalProperties": False}
LEGACY_ACTIONS = ("enable", "disable", "disable-log-reason")


def _legacy_schema(version: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"host": FQDN, "binary": BINARY, "disabled_reason": REASON}
    if version >= (2, 11):
        props["forced_down"] = v.BOOLEAN
    return {"type": "object", "properties": props, "required": ["host", "binary"], "additionalProperties": False}


UPDATE_SCHEMA = {"type": "object", "additionalProperties": False, "properties": {
    "status": {"type": "string", "enum": ["enabled", "disabled"]}, "disabled_reason": REASON,
    "forced_down": v.BOOLEAN}}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].hosts


def view(req: Request, sv: ServiceView, *, with_forced_down: bool | None = None) -> dict[str, Any]:
    version = req.ctx.api_version
    row = sv.row
    out: dict[str, Any] = {
        "id": row.uuid if version >= (2, 53) else row.id, "binary": row.binary, "host": row.host,
        "zone": sv.zone, "status": "disabled" if row.disabled else "enabled", "state": "up" if sv.up else "down",
        "updated_at": times.isotime_us(row.updated_at), "disabled_reason": row.disabled_reason}
    if with_forced_down if with_forced_down is not None else version >= (2, 11):
        out["forced_down"] = bool(row.forced_down)
    return out


async def list_services(req: Request):
    req.ctx.can(f"{P}:list", target={})
    params = dict(req.query_params)
    if req.ctx.api_version >= (2, 75):
        v.validate_query(params, QUERY)
    views = await _svc(req).list_services(host=params.get("host") or None, binary=params.get("binary") or None)
    return json_response({"services": [view(req, sv) for sv in views]})


async def update_service(req: Request):
    req.ctx.can(f"{P}:update", target={})
    ident = req.path_params["service_id"]
    body = await read_json(req)
    if req.ctx.api_version >= (2, 53):
        return await _update_by_uuid(req, ident, body)
    return await _update_legacy(req, ident, body)


async def _update_by_uuid(req: Request, ident: str, body: Any):
    if not is_uuid(ident):
        raise exc.BadRequest(f"Invalid uuid {ident}")
    body = v.validate(body, UPDATE_SCHEMA)
    forced = v.as_bool(body["forced_down"]) if "forced_down" in body else None
    sv = await _svc(req).update_by_uuid(ident, status=body.get("status"),
                                        disabled_reason=body.get("disabled_reason"), forced_down=forced)
    return json_response({"service": view(req, sv, with_forced_down=True)})


async def _update_legacy(req: Request, action: str, body: Any):
    """PUT /os-services/{enable,disable,disable-log-reason,force-down} with host and binary."""
    actions = (*LEGACY_ACTIONS, "force-down") if req.ctx.api_version >= (2, 11) else LEGACY_ACTIONS
    body = v.validate(body, _legacy_schema(req.ctx.api_version))
    if action not in actions:
        raise exc.NotFound("Unknown action")
    host, binary = body["host"], body["binary"]
    svc = _svc(req)
    if action == "force-down":
        if "forced_down" not in body:
            raise exc.BadRequest("Missing forced_down field")
        forced = v.as_bool(body["forced_down"])
        await svc.update_by_host(host, binary, forced_down=forced)
        return json_response({"service": {"host": host, "binary": binary, "forced_down": forced}})
    reason = None
    if action == "disable-log-reason":
        if "disabled_reason" not in body:
            raise exc.BadRequest("Missing disabled reason field")
        reason = body["disabled_reason"]
    disabled = action != "enable"
    await svc.update_by_host(host, binary, disabled=disabled, disabled_reason=reason)
    out: dict[str, Any] = {"host": host, "binary": binary, "status": "disabled" if disabled else "enabled"}
    if reason:
        out["disabled_reason"] = reason
    return json_response({"service": out})


async def delete_service(req: Request):
    req.ctx.can(f"{P}:delete", target={})
    ident = req.path_params["service_id"]
    by_uuid = req.ctx.api_version >= (2, 53)
    if by_uuid and not is_uuid(ident):
        raise exc.BadRequest(f"Invalid uuid {ident}")
    if not by_uuid:
        try:
            int(ident)
        except ValueError:
            raise exc.BadRequest("Invalid input received: id must be an integer") from None
    await _svc(req).delete(ident, by_uuid=by_uuid)
    return empty_response(204)
