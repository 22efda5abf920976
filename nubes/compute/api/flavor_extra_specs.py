"""Handlers for /flavors/{id}/os-extra_specs[/{key}]."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, json_response, read_json
from nubes.compute import exceptions as exc
from nubes.compute.api import validation as v

P = "os_compute_api:os-flavor-extra-specs"
KEY = r"^[a-zA-Z0-9-_:. /]{1,255}$"
VALUE = {"type": ["string", "number", "boolean"], "minLength": 0, "maxLength": 255}
SPECS = {"type": "object", "required": ["extra_specs"], "additionalProperties": False, "properties": {
    "extra_specs": {"type": "object", "patternProperties": {KEY: VALUE}, "additionalProperties": False}}}
ONE = {"type": "object", "minProperties": 1, "maxProperties": 1, "patternProperties": {KEY: VALUE},
       "additionalProperties": False}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].flavors


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


async def list_extra_specs(req: Request):
    req.ctx.can(f"{P}:index")
    return json_response({"extra_specs": await _svc(req).extra_specs(req.ctx, req.path_params["flavor_id"])})


async def create_extra_specs(req: Request):
    req.ctx.can(f"{P}:create")
    specs = v.validate(await read_json(req), SPECS)["extra_specs"]
    done = await _svc(req).set_extra_specs(req.path_params["flavor_id"],
                                           {k: _text(val) for k, val in specs.items()})
    return json_response({"extra_specs": done})


async def show_extra_spec(req: Request):
    req.ctx.can(f"{P}:show")
    key = req.path_params["key"]
    specs = await _svc(req).extra_specs(req.ctx, req.path_params["flavor_id"])
    if key not in specs:
        raise exc.FlavorExtraSpecNotFound(req.path_params["flavor_id"], key)
    return json_response({key: specs[key]})


async def update_extra_spec(req: Request):
    req.ctx.can(f"{P}:update")
    key = req.path_params["key"]
    body = v.validate(await read_json(req), ONE)
    if key not in body:
        raise exc.BadRequest("Request body and URI mismatch")
    await _svc(req).set_extra_specs(req.path_params["flavor_id"], {key: _text(body[key])})
    return json_response({key: _text(body[key])})


async def delete_extra_spec(req: Request):
    req.ctx.can(f"{P}:delete")
    await _svc(req).delete_extra_spec(req.path_params["flavor_id"], req.path_params["key"])
    from nubes.core.api.http import empty_response

    return empty_response(200)
