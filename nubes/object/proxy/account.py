"""``/v1/<account>``: its metadata (HEAD, POST) and its list of containers (GET).

Accounts are made on first use (Swift's ``account_autocreate``, as with keystoneauth): until
then a HEAD or GET answers as an empty account, and the first container PUT or account POST
creates it on the account servers."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from nubes.object.proxy import constraints, object_versioning
from nubes.object.proxy.base import (Cluster, authorize, client_headers, listing_params,
                                     listing_response, not_found_or_unavailable, passed,
                                     quorum_response, timestamp)
from nubes.object.proxy.errors import SwiftError

META = ("x-account-meta-",)
STORED = ("x-account-sysmeta-core-access-control",)       # the account ACL (access.py)


def _empty_headers() -> dict[str, str]:
    return {"X-Account-Container-Count": "0", "X-Account-Object-Count": "0",
            "X-Account-Bytes-Used": "0", "X-Timestamp": timestamp()}


async def head(cluster: Cluster, req: Any, account: str) -> Response:
    authorize(req, account, write=False)
    part, nodes = cluster.read_nodes(cluster.account_ring, account)
    answer, others = await cluster.backend.first_good(nodes, part, "HEAD", (account,), {})
    if answer is None:
        if not_found_or_unavailable(others).status == 404:
            return Response(b"", 204, headers=_empty_headers())
        raise SwiftError(503)
    return Response(b"", 204, headers=client_headers(answer.headers))


async def get(cluster: Cluster, req: Any, account: str) -> Response:
    authorize(req, account, write=False)
    params = listing_params(req, cluster.listing_limit)
    object_versioning.hide_in_account_listing(params)
    part, nodes = cluster.read_nodes(cluster.account_ring, account)
    answer, others = await cluster.backend.first_good(nodes, part, "GET", (account,), {}, params)
    if answer is not None:
        return listing_response(answer)
    if not_found_or_unavailable(others).status != 404:
        raise SwiftError(503)
    fmt = params.get("format", "plain")
    if fmt == "json":
        return Response(b"[]", 200, headers=_empty_headers(), media_type="application/json")
    if fmt == "xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<account name="{account}"></account>'
                ).encode()
        return Response(body, 200, headers=_empty_headers(), media_type="application/xml")
    return Response(b"", 204, headers=_empty_headers())


async def ensure(cluster: Cluster, account: str) -> None:
    """Create the account on its servers unless they have it (autocreate)."""
    part, nodes = cluster.read_nodes(cluster.account_ring, account)
    answer, others = await cluster.backend.first_good(nodes, part, "HEAD", (account,), {})
    if answer is not None:
        return
    if not_found_or_unavailable(others).status != 404:
        raise SwiftError(503)
    part, primaries, handoffs = cluster.nodes(cluster.account_ring, account)
    headers = {"x-timestamp": timestamp()}
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "PUT", (account,),
                                            [headers] * len(primaries))
    quorum_response(answers, len(primaries))


async def post(cluster: Cluster, req: Any, account: str) -> Response:
    authorize(req, account, write=True)
    constraints.check_metadata(req.headers, "account")
    await ensure(cluster, account)
    part, primaries, handoffs = cluster.nodes(cluster.account_ring, account)
    headers = {**passed(req.headers, META, STORED), "x-timestamp": timestamp()}
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "POST", (account,),
                                            [headers] * len(primaries))
    cluster.container_info.forget((account,))      # the account's cached record (info.py)
    response = quorum_response(answers, len(primaries))
    response.status_code = 204
    return response
