"""Version discovery: GET / answers 300 with the v2 versions, GET /versions 200 (as Glance does)."""

from __future__ import annotations

from nubes.core.api.http import Request, json_response

# Glance's version list (its versions are feature levels, not negotiated microversions): 2.6
# import, 2.7 hidden images and multihash, 2.8/2.9 several stores and copy-image, 2.12 quota usage
# and an image's tasks, 2.17 the service locations API. What a level has that nubes does not (the
# cache API of 2.14/2.15, glance-download, adding a location) answers as a Glance deployment
# without it would: 501, or 400 for the import method (docs/api-coverage.md).
CURRENT = "2.17"
SUPPORTED = tuple(f"2.{minor}" for minor in range(16, -1, -1))


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
