"""THE route table of the object storage proxy: Swift's API v1, one row per (method, path).

Accounts can be neither created nor deleted through the API (``allow_account_management`` is
off, as in Swift by default): they are made on first use. Those methods answer 405, unless they
carry a bulk operation (``bulk_api.py``).

Every row is public to the core (no token needed): access.py decides, with the token when
there is one, TempURL and FormPost signatures and referrer ACLs when not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from nubes.core.api.http import json_response
from nubes.core.api.routing import Route
from nubes.object.proxy import access, account, bulk_api, container, cors, obj

A = "/v1/{account}"
C = f"{A}/{{container}}"
O = f"{C}/{{obj:path}}"


def _bind(fn: Callable[..., Awaitable[Response]]) -> Callable[[Any], Awaitable[Response]]:
    async def handler(req: Any) -> Response:
        return await access.serve(req.rt.extra["object"].cluster, req, fn, **req.path_params)

    handler.__name__ = f"{fn.__module__.rsplit('.', 1)[-1]}_{fn.__name__}"
    return handler


async def show_info(req: Any) -> Response:
    return json_response(req.rt.extra["object"].info)


TABLE = [
    ("HEAD", A, account.head), ("GET", A, account.get), ("POST", A, bulk_api.account_post),
    ("PUT", A, bulk_api.account_put), ("DELETE", A, bulk_api.account_delete),
    ("PUT", C, bulk_api.container_put), ("HEAD", C, container.head), ("GET", C, container.get),
    ("POST", C, container.post), ("DELETE", C, container.delete),
    ("PUT", O, bulk_api.object_put), ("HEAD", O, obj.head), ("GET", O, obj.get), ("POST", O, obj.post),
    ("DELETE", O, obj.delete), ("COPY", O, obj.copy),
    ("OPTIONS", A, cors.preflight), ("OPTIONS", C, cors.preflight), ("OPTIONS", O, cors.preflight),
]


def routes() -> list[Route]:
    return [Route("GET", "/info", show_info, public=True),
            *(Route(method, path, _bind(fn), public=True) for method, path, fn in TABLE)]
