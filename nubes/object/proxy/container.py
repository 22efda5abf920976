"""``/v1/<account>/<container>``: create (PUT), metadata (HEAD, POST), list objects (GET),
delete.

A container PUT tells each container server one account replica to update (``X-Account-Host``,
``-Device``, ``-Partition``), so the account's listing learns of it."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

import httpx
from starlette.responses import Response

from nubes.object.proxy import account as accounts
from nubes.object.proxy import constraints, object_versioning, symlink, versioning
from nubes.object.proxy.base import (Cluster, authorize, client_headers, listing_params,
                                     listing_response, not_found_or_unavailable, passed,
                                     quorum_response, timestamp)

META = ("x-container-meta-",)
ACLS = ("x-container-read", "x-container-write")       # checked and cleaned by access.py


def account_update_headers(cluster: Cluster, account: str, count: int) -> list[dict[str, str]]:
    """For each of ``count`` container nodes, the account replica it tells (round robin)."""
    part, primaries = cluster.account_ring.get_nodes(account)
    return [{"x-account-host": f"{node.ip}:{node.port}", "x-account-device": node.device,
             "x-account-partition": str(part)}
            for node in (primaries[i % len(primaries)] for i in range(count))]


async def raw_info(cluster: Cluster, account: str, container: str) -> dict[str, str]:
    """The container's headers as its first server that has it answers (system metadata too),
    names lowercased; 404 when none has it."""
    part, nodes = cluster.read_nodes(cluster.container_ring, account, container)
    answer, others = await cluster.backend.first_good(nodes, part, "HEAD", (account, container),
                                                      {})
    if answer is None:
        raise not_found_or_unavailable(others)
    return {k.lower(): v for k, v in answer.headers.items()}


async def info(cluster: Cluster, account: str, container: str) -> dict[str, str]:
    """The container's headers a client may see; 404 when no server has it."""
    raw = await raw_info(cluster, account, container)
    return {**client_headers(httpx.Headers(raw)), **versioning.shown(raw),
            **object_versioning.shown(raw)}


async def cached_raw_info(cluster: Cluster, account: str, container: str) -> dict[str, str]:
    """``raw_info`` for an object write (the container must be there; its versioning settings):
    an answer is reused for CONTAINER_INFO_TTL seconds, as Swift's proxy keeps it in memcache;
    this proxy's own PUT, POST or DELETE of the container forgets it. A 404 is never kept."""
    headers = cluster.container_info.get((account, container))
    if headers is None:
        headers = await raw_info(cluster, account, container)
        cluster.container_info.put((account, container), headers)
    return headers


async def head(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    authorize(req, account, write=False)
    return Response(b"", 204, headers=await info(cluster, account, container))


async def get(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    authorize(req, account, write=False)
    if "versions" in req.query_params:
        return await object_versioning.listing(cluster, req, account, container)
    params = listing_params(req, cluster.listing_limit)
    part, nodes = cluster.read_nodes(cluster.container_ring, account, container)
    answer, others = await cluster.backend.first_good(nodes, part, "GET", (account, container),
                                                      {}, params)
    if answer is None:
        raise not_found_or_unavailable(others)
    response = listing_response(answer)
    if b"symlink_target=" in response.body:
        _show_links(response, account)
    raw = {k.lower(): v for k, v in answer.headers.items()}
    response.headers.update({**versioning.shown(raw), **object_versioning.shown(raw)})
    return response


def _show_links(response: Response, account: str) -> None:
    """Links' rows as Swift shows them (symlink.listing_entry), in a JSON or XML listing."""
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        rows = [symlink.listing_entry(row, account) for row in json.loads(response.body)]
        body = json.dumps(rows).encode()
    elif "xml" in kind:
        root = ElementTree.fromstring(response.body)
        for item in root.iter("object"):
            entry = {child.tag: child.text or "" for child in item}
            shown = symlink.listing_entry(entry, account)
            for key, value in shown.items():
                child = item.find(key)
                if child is None:
                    child = ElementTree.SubElement(item, key)
                child.text = str(value)
        body = ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)
    else:
        return
    response.body = body
    response.headers["content-length"] = str(len(body))


async def put(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    authorize(req, account, write=True)
    constraints.check_container(container)
    constraints.check_metadata(req.headers, "container")
    return await create(cluster, account, container, {
        **passed(req.headers, META, ACLS), **versioning.container_headers(req.headers),
        **await object_versioning.container_headers(cluster, account, container, req.headers)})


async def create(cluster: Cluster, account: str, container: str, headers: dict[str, str]) -> Response:
    """PUT the container (``headers``: its metadata) on its servers, the account made if need be."""
    await accounts.ensure(cluster, account)
    part, primaries, handoffs = cluster.nodes(cluster.container_ring, account, container)
    common = {**headers, "x-timestamp": timestamp()}
    per_node = [{**common, **extra}
                for extra in account_update_headers(cluster, account, len(primaries))]
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "PUT",
                                            (account, container), per_node)
    cluster.container_info.forget((account, container))
    return quorum_response(answers, len(primaries))


async def post(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    authorize(req, account, write=True)
    constraints.check_metadata(req.headers, "container")
    part, primaries, handoffs = cluster.nodes(cluster.container_ring, account, container)
    headers = {**passed(req.headers, META, ACLS), **versioning.container_headers(req.headers),
               **await object_versioning.container_headers(cluster, account, container,
                                                           req.headers),
               "x-timestamp": timestamp()}
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "POST",
                                            (account, container), [headers] * len(primaries))
    cluster.container_info.forget((account, container))
    response = quorum_response(answers, len(primaries))
    response.status_code = 204
    return response


async def delete(cluster: Cluster, req: Any, account: str, container: str) -> Response:
    authorize(req, account, write=True)
    return await remove(cluster, account, container)


async def remove(cluster: Cluster, account: str, container: str) -> Response:
    """DELETE the container on its servers (409 when it holds objects or versions, 404 when
    there is none), then its versions container."""
    hidden = await object_versioning.check_removable(cluster, account, container)
    part, primaries, handoffs = cluster.nodes(cluster.container_ring, account, container)
    common = {"x-timestamp": timestamp()}
    headers = [{**common, **extra}
               for extra in account_update_headers(cluster, account, len(primaries))]
    answers = await cluster.backend.fan_out(primaries, handoffs, part, "DELETE",
                                            (account, container), headers)
    cluster.container_info.forget((account, container))
    response = quorum_response(answers, len(primaries))
    response.status_code = 204
    if hidden is not None:
        await object_versioning.drop_versions_container(cluster, account, hidden)
    return response
