"""Version discovery: GET / answers 300 with the v2 versions, GET /versions 200 (as Glance does)."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response

# What this implementation supports; 2.8+ are the multi-store versions Glance lists when
# several stores are configured, and nubes always runs with stores.
CURRENT = "2.9"
SUPPORTED = ("2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0")


def _versions(req: Request) -> dict:
    base = f"{req.url.scheme}://{req.url.netloc}"
    link = [{"rel": "self", "href": f"{base}/v2/"}]
    out = [{"id": f"v{CURRENT}", "status": "CURRENT", "links": link}]
    out += [{"id": f"v{v}", "status": "SUPPORTED", "links": link} for v in SUPPORTED]
    return {"versions": out}


async def list_versions(req: Request):
    return json_response(_versions(req), 300)


async def list_versions_explicit(req: Request):
    return json_response(_versions(req), 200)
