"""Wire shapes of resource providers and helpers shared by the handlers."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

from nubes.core.api.http import Request, json_response


def provider(rp: dict[str, Any], v: tuple[int, int]) -> dict[str, Any]:
    base = f"/resource_providers/{rp['uuid']}"
    links = [{"rel": "self", "href": base}, {"rel": "inventories", "href": f"{base}/inventories"},
             {"rel": "usages", "href": f"{base}/usages"}]
    if v >= (1, 1):
        links.append({"rel": "aggregates", "href": f"{base}/aggregates"})
    if v >= (1, 6):
        links.append({"rel": "traits", "href": f"{base}/traits"})
    if v >= (1, 11):
        links.append({"rel": "allocations", "href": f"{base}/allocations"})
    out = {"uuid": rp["uuid"], "name": rp["name"], "generation": rp["generation"], "links": links}
    if v >= (1, 14):
        out["parent_provider_uuid"] = rp.get("parent_provider_uuid")
        out["root_provider_uuid"] = rp.get("root_provider_uuid")
    return out


def respond(req: Request, data: Any, status: int = 200, headers: dict[str, str] | None = None):
    """JSON, plus the cache headers GETs carry from 1.15 on."""
    headers = dict(headers or {})
    if req.method in ("GET", "HEAD") and req.ctx.api_version >= (1, 15):
        headers["cache-control"] = "no-cache"
        headers["last-modified"] = formatdate(usegmt=True)
    return json_response(data, status, headers)


def placement(req: Request) -> Any:
    return req.rt.extra["placement"]
