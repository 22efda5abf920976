"""Handlers for managing a server's live migration under way: ``POST /servers/{id}/migrations/{id}/action``
with ``{"force_complete": null}`` (2.22) and ``DELETE /servers/{id}/migrations/{id}`` (abort, 2.24)."""

from __future__ import annotations

from typing import Any

from nubes.core.api.http import Request, empty_response, read_json
from nubes.core.jsondoc import INT64_MAX
from nubes.compute import exceptions as exc
from nubes.compute.api import authz

P = f"{authz.P}:servers:migrations"


def _svc(req: Request) -> Any:
    return req.rt.extra["compute"].live_migrations


def _ids(req: Request, *, missing: type) -> tuple[str, int]:
    sid, raw = req.path_params["server_id"], req.path_params["migration_id"]
    if not raw.isdigit() or int(raw) > INT64_MAX:
        if missing is exc.BadRequest:
            raise exc.BadRequest(f"Instance {sid} does not have a live migration with id {raw}.")
        raise exc.MigrationNotFound(raw, sid)
    return sid, int(raw)


async def migration_action(req: Request):
    body = await read_json(req)
    if not isinstance(body, dict) or set(body) != {"force_complete"} or body["force_complete"] is not None:
        raise exc.BadRequest("Invalid input: the body of a migration action is {\"force_complete\": null}.")
    sid, mid = _ids(req, missing=exc.BadRequest)
    await authz.server(req, f"{P}:force_complete")
    await _svc(req).force_complete(req.ctx, sid, mid)
    return empty_response(202)


async def delete_migration(req: Request):
    sid, mid = _ids(req, missing=exc.NotFound)
    await authz.server(req, f"{P}:delete")
    await _svc(req).abort(req.ctx, sid, mid)
    return empty_response(202)
