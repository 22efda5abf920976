"""Version discovery at / and /v3."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response

UPDATED = "2024-04-01T00:00:00Z"
VERSION_ID = "v3.14"
MEDIA_TYPES = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _v3(req: Request) -> dict:
    return {"id": VERSION_ID, "status": "stable", "updated": UPDATED,
            "links": [{"rel": "self", "href": f"{base_url(req)}/v3/"}],
            "media-types": MEDIA_TYPES}


def base_url(req: Request) -> str:
    return f"{req.url.scheme}://{req.url.netloc}"


async def list_versions(req: Request):
    return json_response({"versions": {"values": [_v3(req)]}}, 300)


async def show_v3(req: Request):
    return json_response({"version": _v3(req)})
