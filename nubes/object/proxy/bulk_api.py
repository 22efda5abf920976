"""The routes that may carry a bulk operation (``proxy/bulk.py``): an account POST or DELETE
with ``?bulk-delete``, and a PUT with ``?extract-archive`` at the account, a container or a
prefix inside one. Without the query they are the plain account, container and object calls
(an account PUT or DELETE is then 405: accounts are not managed through the API)."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response

from nubes.object.proxy import account as accounts
from nubes.object.proxy import bulk
from nubes.object.proxy import container as containers
from nubes.object.proxy import obj as objects
from nubes.object.proxy.base import Cluster, authorize
from nubes.object.proxy.errors import SwiftError


def _not_allowed() -> SwiftError:
    return SwiftError(405)


async def _delete(cluster: Cluster, req: Any, acct: str) -> Response:
    authorize(req, acct, write=True)

    async def delete_object(c: str, o: str) -> Any:
        return await objects.remove(cluster, acct, c, o)

    async def delete_container(c: str) -> Any:
        return await containers.remove(cluster, acct, c)

    return await bulk.bulk_delete(req, delete_object, delete_container)


async def _extract(cluster: Cluster, req: Any, acct: str, cont: str | None, prefix: str) -> Response:
    authorize(req, acct, write=True)

    async def store(c: str, o: str, length: int, chunks: AsyncIterator[bytes]) -> Any:
        headers = {"content-type": mimetypes.guess_type(o)[0] or "application/octet-stream"}
        return await objects.store(cluster, acct, c, o, headers, length, chunks)

    async def ensure_container(c: str) -> bool:
        try:
            await containers.info(cluster, acct, c)
            return False
        except SwiftError as e:
            if e.status != 404:
                raise
        await containers.create(cluster, acct, c, {})
        return True

    return await bulk.extract_archive(req, req.query_params["extract-archive"], cont, prefix, store,
                                      ensure_container)


async def account_post(cluster: Cluster, req: Any, account: str) -> Response:
    if "bulk-delete" in req.query_params:
        return await _delete(cluster, req, account)
    return await accounts.post(cluster, req, account)


async def account_delete(cluster: Cluster, req: Any, account: str) -> Response:
    if "bulk-delete" in req.query_params:
        return await _delete(cluster, req, account)
    raise _not_allowed()


async def account_put(cluster: Cluster, req: Any, account: str) -> Response:
    if "extract-archive" in req.query_params:
        return await _extract(cluster, req, account, None, "")
    raise _not_allowed()


async def container_put(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    if "extract-archive" in req.query_params:
        return await _extract(cluster, req, account, container, "")
    return await containers.put(cluster, req, account, container)


async def object_put(cluster: Cluster, req: Any, account: str, container: str, obj: str) -> Response:
    if "extract-archive" in req.query_params:
        return await _extract(cluster, req, account, container, obj.strip("/"))
    return await objects.put(cluster, req, account, container, obj)
