"""Handlers for /os-quota-sets/{project_id}[/defaults|/detail] and /os-quota-class-sets/{id}."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import validation as v
from nubes.compute.service.quotas import LEGACY_NETWORK, RESOURCES

P = "os_compute_api:os-quota-sets"
PC = "os_compute_api:os-quota-class-sets"
INJECTED = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")
GROUPS = ("server_groups", "server_group_members")
LIMIT = {"type": ["integer", "string"], "pattern": r"^-?[0-9]+$", "minimum": -1, "maximum": 0x7FFFFFFF}


def _names(version: tuple[int, int], *, classes: bool = False) -> list[str]:
    names = [r for r in RESOURCES if not (version >= (2, 57) and r in INJECTED)]
    if classes and version < (2, 50):
        names = [r for r in names if r not in GROUPS]
    return names


def _network(version: tuple[int, int], *, classes: bool = False) -> dict[str, int]:
    return dict(LEGACY_NETWORK) if version < ((2, 50) if classes else (2, 36)) else {}


def _body(version: tuple[int, int], values: dict[str, Any], *, classes: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {r: values[r] for r in _names(version, classes=classes) if r in values}
    for name, default in _network(version, classes=classes).items():
        out[name] = ({"in_use": 0, "limit": default, "reserved": 0}
                     if isinstance(next(iter(values.values()), None), dict) else default)
    return out


def _update_schema(version: tuple[int, int], key: str, *, classes: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {r: LIMIT for r in _names(version, classes=classes)}
    props.update({r: LIMIT for r in _network(version, classes=classes)})
    if version < (2, 36) and not classes:
        props["networks"] = LIMIT
    if not classes:
        props["force"] = v.BOOLEAN
    return {"type": "object", "required": [key], "additionalProperties": False, "properties": {
        key: {"type": "object", "additionalProperties": False, "properties": props}}}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].quotas


def _user(req: Request) -> str | None:
    extra = sorted(k for k in req.query_params if k != "user_id")
    if extra and req.ctx.api_version >= (2, 75):
        raise exc.BadRequest("Additional properties are not allowed ("
                             + ", ".join(repr(k) for k in extra) + (" was" if len(extra) == 1 else " were")
                             + " unexpected)")
    return req.query_params.get("user_id") or None


async def show_quota_set(req: Request):
    pid = req.path_params["project_id"]
    user_id = _user(req)
    req.ctx.can(f"{P}:show", {"project_id": pid, "user_id": user_id or req.ctx.user_id})
    values = await _svc(req).show(pid, user_id)
    return json_response({"quota_set": {"id": pid, **_body(req.ctx.api_version, values)}})


async def show_quota_set_detail(req: Request):
    pid = req.path_params["project_id"]
    user_id = _user(req)
    req.ctx.can(f"{P}:detail", {"project_id": pid, "user_id": user_id or req.ctx.user_id})
    detail = await _svc(req).detail(pid, user_id, user_id or req.ctx.user_id)
    values = {r: {"in_use": d.in_use, "limit": d.limit, "reserved": d.reserved} for r, d in detail.items()}
    return json_response({"quota_set": {"id": pid, **_body(req.ctx.api_version, values)}})


async def show_quota_defaults(req: Request):
    pid = req.path_params["project_id"]
    req.ctx.can(f"{P}:defaults", {"project_id": pid})
    values = await _svc(req).defaults()
    return json_response({"quota_set": {"id": pid, **_body(req.ctx.api_version, values)}})


async def update_quota_set(req: Request):
    pid = req.path_params["project_id"]
    user_id = _user(req)
    req.ctx.can(f"{P}:update", {"project_id": pid, "user_id": user_id})
    body = v.validate(await read_json(req), _update_schema(req.ctx.api_version, "quota_set"))["quota_set"]
    force = v.as_bool(body.pop("force", False))
    values = {k: int(val) for k, val in body.items() if k in RESOURCES}
    saved = await _svc(req).update(pid, user_id, values, force=force)
    return json_response({"quota_set": _body(req.ctx.api_version, saved)})


async def delete_quota_set(req: Request):
    pid = req.path_params["project_id"]
    user_id = _user(req)
    req.ctx.can(f"{P}:delete", {"project_id": pid, "user_id": user_id})
    await _svc(req).delete(pid, user_id)
    return empty_response(202)


async def show_quota_class_set(req: Request):
    name = req.path_params["class_name"]
    req.ctx.can(f"{PC}:show", {"quota_class": name})
    values = await _svc(req).show_class(name)
    return json_response({"quota_class_set": {"id": name, **_body(req.ctx.api_version, values, classes=True)}})


async def update_quota_class_set(req: Request):
    name = req.path_params["class_name"]
    req.ctx.can(f"{PC}:update", {"quota_class": name})
    body = v.validate(await read_json(req), _update_schema(req.ctx.api_version, "quota_class_set",
                                                           classes=True))["quota_class_set"]
    values = {k: int(val) for k, val in body.items() if k in RESOURCES}
    saved = await _svc(req).update_class(name, values)
    return json_response({"quota_class_set": _body(req.ctx.api_version, saved, classes=True)})
