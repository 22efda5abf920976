"""What the block storage handlers share: validation in Cinder's wording, the caller's view of
projects, paging parameters and links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from nubes.core.api.http import Request
from nubes.core.api.jsonschema import first_error
from nubes.volume import exceptions as exc


def validate(body: Any, schema: dict[str, Any]) -> Any:
    """Cinder's 400: "Invalid input for field/attribute <name>. Value: <value>. <why>"."""
    err = first_error(body, schema)
    if err is None:
        return body
    if err.path:
        raise exc.BadRequest(f"Invalid input for field/attribute {err.path[-1]}. Value: {err.value}. "
                             f"{err.message}")
    raise exc.BadRequest(err.message)


NAME = {"type": ["string", "null"], "maxLength": 255}
DESCRIPTION = {"type": ["string", "null"], "maxLength": 255}
METADATA = {"type": "object", "maxProperties": 1024,
            "patternProperties": {"^[a-zA-Z0-9-_:. /]{1,255}$": {"type": "string", "maxLength": 255}},
            "additionalProperties": False}
BOOLEAN = {"type": ["boolean", "string"], "enum": [True, False, "True", "False", "true", "false", "TRUE",
                                                   "FALSE", "1", "0", "yes", "no", "on", "off", "y", "n",
                                                   "t", "f"]}


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "on", "y", "t")


def query_bool(req: Request, name: str) -> bool | None:
    raw = req.query_params.get(name)
    if raw is None:
        return None
    if raw.strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off", "y", "n", "t", "f", ""):
        raise exc.InvalidInput(f"Invalid value '{raw}' for {name}; it must be a boolean.")
    return as_bool(raw) if raw.strip() else True


def target(req: Request, project_id: str | None = None) -> dict[str, Any]:
    return {"project_id": project_id or req.ctx.project_id, "user_id": req.ctx.user_id}


def url_project_check(req: Request) -> None:
    """A project id in the URL (``/v3/{project_id}/...``) must be the token's."""
    pid = req.scope.get("url_project_id")
    if pid is not None and pid != req.ctx.project_id:
        raise exc.BadRequest("Malformed request url")


def visible_projects(req: Request, all_rule: str) -> set[str] | None:
    """The projects a list shows: the caller's, or every one (None) for ``all_tenants`` when the
    policy grants ``all_rule``; ``project_id`` narrows an all-tenants list to one."""
    url_project_check(req)
    all_tenants = req.query_params.get("all_tenants")
    if all_tenants is not None and as_bool(all_tenants or "1") and req.ctx.allowed(all_rule, target(req)):
        wanted = req.query_params.get("project_id")
        return {wanted} if wanted else None
    return {req.ctx.project_id or ""}


def owned(req: Request) -> set[str] | None:
    """For a single resource: admins see every project's (None), others their own."""
    url_project_check(req)
    return None if req.ctx.is_admin else {req.ctx.project_id or ""}


def limit_marker(req: Request, maximum: int) -> tuple[int | None, str | None]:
    raw = req.query_params.get("limit")
    limit = None
    if raw is not None:
        if not raw.strip().isdigit():
            raise exc.InvalidInput("limit param must be an integer")
        limit = min(int(raw), maximum)
    return limit, req.query_params.get("marker")


def base(req: Request) -> str:
    return str(req.base_url).rstrip("/")


def prefix(req: Request) -> str:
    """/v3 or /v3/{project_id}, as the request named it (links keep the caller's URL form)."""
    pid = req.scope.get("url_project_id")
    return f"{base(req)}/v3/{pid}" if pid else f"{base(req)}/v3"


def links(req: Request, collection: str, ident: str) -> list[dict[str, str]]:
    pid = req.scope.get("url_project_id") or req.ctx.project_id or ""
    return [{"rel": "self", "href": f"{prefix(req)}/{collection}/{ident}"},
            {"rel": "bookmark", "href": f"{base(req)}/{pid}/{collection}/{ident}"}]


def next_link(req: Request, path: str, marker: str) -> list[dict[str, str]]:
    params = [(k, v) for k, v in req.query_params.multi_items() if k != "marker"]
    params.append(("marker", marker))
    return [{"rel": "next", "href": f"{prefix(req)}/{path}?{urlencode(params)}"}]


def isotime(value: Any) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")
