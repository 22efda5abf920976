"""Handlers for /os-aggregates: list, create, show, update, delete, and the add_host, remove_host
and set_metadata actions (2.41 shows the uuid)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, json_response, read_json
from nubes.core.jsondoc import INT64_MAX, INT64_MIN
from nubes.compute import exceptions as exc
from nubes.compute.api import times
from nubes.compute.api import validation as v
from nubes.compute.db.models import Aggregate
from nubes.compute.db.queries.aggregates import metadata_of, zone_of

P = "os_compute_api:os-aggregates"
# Printable, no colon, no leading or trailing whitespace (Nova's az_name).
AZ_NAME = {"type": ["string", "null"], "minLength": 1, "maxLength": 255,
           "pattern": r"^(?![\s])[^\x00-\x1f\x7f:]*(?<![\s])$"}
NAME_SPACES_OK = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\x00-\x1f\x7f]*$"}
FQDN = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9-._]*$"}
METADATA = {"type": "object", "additionalProperties": False, "patternProperties": {
    r"^[a-zA-Z0-9-_:. ]{1,255}$": {"type": ["string", "null"], "maxLength": 255}}}


def _wrapped(key: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "additionalProperties": False, "properties": {key: inner}}


CREATE = _wrapped("aggregate", {"type": "object", "required": ["name"], "additionalProperties": False,
                                "properties": {"name": v.NAME, "availability_zone": AZ_NAME}})
UPDATE = _wrapped("aggregate", {"type": "object", "additionalProperties": False,
                                "properties": {"name": NAME_SPACES_OK, "availability_zone": AZ_NAME},
                                "anyOf": [{"required": ["name"]}, {"required": ["availability_zone"]}]})
ACTIONS: dict[str, dict[str, Any]] = {
    "add_host": _wrapped("add_host", {"type": "object", "required": ["host"], "additionalProperties": False,
                                      "properties": {"host": FQDN}}),
    "remove_host": _wrapped("remove_host", {"type": "object", "required": ["host"], "additionalProperties": False,
                                            "properties": {"host": FQDN}}),
    "set_metadata": _wrapped("set_metadata", {"type": "object", "required": ["metadata"],
                                              "additionalProperties": False, "properties": {"metadata": METADATA}}),
}


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].aggregates


def view(req: Request, row: Aggregate, *, members: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"availability_zone": zone_of(row), "created_at": times.isotime_us(row.created_at),
                           "deleted": False, "deleted_at": None, "id": row.id, "name": row.name,
                           "updated_at": times.isotime_us(row.updated_at)}
    if members:
        out["hosts"] = [h.host for h in row.hosts]
        out["metadata"] = metadata_of(row)
    if req.ctx.api_version >= (2, 41):
        out["uuid"] = row.uuid
    return out


def _id(req: Request) -> int:
    raw = req.path_params["aggregate_id"]
    try:
        n = int(raw)
    except ValueError:
        raise exc.BadRequest("Invalid input received: id must be an integer") from None
    if not INT64_MIN <= n <= INT64_MAX:       # an integer, but no aggregate can have it
        raise exc.AggregateNotFound(raw)
    return n


async def list_aggregates(req: Request):
    req.ctx.can(f"{P}:index", target={})
    return json_response({"aggregates": [view(req, a) for a in await _svc(req).list()]})


async def create_aggregate(req: Request):
    req.ctx.can(f"{P}:create", target={})
    body = v.validate(await read_json(req), CREATE)["aggregate"]
    zone = body.get("availability_zone")
    row = await _svc(req).create(body["name"].strip(), zone.strip() if zone else None)
    return json_response({"aggregate": view(req, row, members=False)})


async def show_aggregate(req: Request):
    req.ctx.can(f"{P}:show", target={})
    return json_response({"aggregate": view(req, await _svc(req).show(_id(req)))})


async def update_aggregate(req: Request):
    req.ctx.can(f"{P}:update", target={})
    body = v.validate(await read_json(req), UPDATE)["aggregate"]
    aggregate_id = _id(req)
    updates = dict(body)
    if "name" in updates:
        updates["name"] = updates["name"].strip()
        if not updates["name"]:
            raise exc.BadRequest("Invalid input for field/attribute name. Value: . The name can not be empty.")
    row = await _svc(req).update(aggregate_id, updates)
    return json_response({"aggregate": view(req, row)})


async def delete_aggregate(req: Request):
    req.ctx.can(f"{P}:delete", target={})
    await _svc(req).delete(_id(req))
    return empty_response(200)      # Nova answers 200 with no body


async def aggregate_action(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or len(body) != 1:
        raise exc.BadRequest("Malformed request body: an action body has exactly one key, the action's name.")
    (action,) = body
    schema = ACTIONS.get(action)
    if schema is None:
        raise exc.BadRequest(f"There is no such action: {action}")
    req.ctx.can(f"{P}:{action}", target={})
    body = v.validate(body, schema)[action]
    aggregate_id = _id(req)
    svc = _svc(req)
    if action == "add_host":
        row = await svc.add_host(aggregate_id, body["host"])
    elif action == "remove_host":
        row = await svc.remove_host(aggregate_id, body["host"])
    else:
        row = await svc.set_metadata(aggregate_id, body["metadata"])
    return json_response({"aggregate": view(req, row)})
