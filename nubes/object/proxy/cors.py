"""Cross-origin requests (CORS), as Swift's proxy serves them, from the container's metadata:
``X-Container-Meta-Access-Control-Allow-Origin`` (origins separated by spaces, or ``*``),
``-Max-Age`` and ``-Expose-Headers``.

``OPTIONS`` needs no token. Without ``Origin`` it answers 200 with ``Allow``; a preflight
(``Origin`` and ``Access-Control-Request-Method``) of an allowed origin and method gets the
``Access-Control-Allow-*`` headers, any other 401. A request with an allowed ``Origin`` gets
``Access-Control-Allow-Origin`` and ``Access-Control-Expose-Headers`` (the simple response
headers, Swift's own, the metadata in the answer and the container's list); strict CORS mode:
an origin the container does not allow gets none."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from nubes.object.proxy import info
from nubes.object.proxy.base import Cluster

ALLOW_ORIGIN = "x-container-meta-access-control-allow-origin"
MAX_AGE = "x-container-meta-access-control-max-age"
EXPOSE = "x-container-meta-access-control-expose-headers"
METHODS = ("HEAD", "GET", "PUT", "POST", "DELETE", "COPY", "OPTIONS")
ACCOUNT_METHODS = ("HEAD", "GET", "POST", "OPTIONS")
EXPOSED = ("cache-control", "content-language", "content-type", "expires", "last-modified",
           "pragma", "etag", "x-timestamp", "x-trans-id", "x-openstack-request-id")


def _origins(record: dict[str, str]) -> list[str]:
    return record.get(ALLOW_ORIGIN, "").split()


def allowed(record: dict[str, str] | None, origin: str) -> bool:
    origins = _origins(record or {})
    return origin in origins or "*" in origins


async def preflight(cluster: Cluster, req: Any, account: str, container: str | None) -> Response:
    methods = METHODS if container else ACCOUNT_METHODS
    headers = {"Allow": ", ".join(methods)}
    origin = req.headers.get("origin")
    if not origin or not container:
        return Response(b"", 200, headers=headers)
    record = await info.container_info(cluster, req, account, container) or {}
    if not allowed(record, origin) or req.headers.get("access-control-request-method") not in methods:
        return Response(b"", 401, headers=headers)
    headers["Access-Control-Allow-Origin"] = "*" if _origins(record) == ["*"] else origin
    vary = ["Origin"]
    if MAX_AGE in record:
        headers["Access-Control-Max-Age"] = record[MAX_AGE]
    headers["Access-Control-Allow-Methods"] = ", ".join(methods)
    asked = [h.strip() for h in req.headers.get("access-control-request-headers", "").split(",")
             if h.strip()]
    if asked:
        headers["Access-Control-Allow-Headers"] = ", ".join(dict.fromkeys(asked))
        vary.append("Access-Control-Request-Headers")
    headers["Vary"] = ", ".join(vary)
    return Response(b"", 200, headers=headers)


async def actual_headers(cluster: Cluster, req: Any, account: str, container: str,
                         answer_headers: Any) -> dict[str, str]:
    """The CORS headers of the answer to a request with ``Origin`` (none for an origin the
    container does not allow)."""
    origin = req.headers["origin"]
    record = await info.container_info(cluster, req, account, container) or {}
    if not allowed(record, origin):
        return {}
    exposed = dict.fromkeys(EXPOSED)
    exposed.update(dict.fromkeys(k.lower() for k in answer_headers.keys()
                                 if k.lower().startswith(("x-container-meta-", "x-object-meta-"))))
    exposed.update(dict.fromkeys(h.lower() for h in record.get(EXPOSE, "").split()))
    out = {"Access-Control-Expose-Headers": ", ".join(exposed)}
    if _origins(record) == ["*"]:
        out["Access-Control-Allow-Origin"] = "*"
    else:
        out["Access-Control-Allow-Origin"] = origin
        out["Vary"] = "Origin"
    return out
