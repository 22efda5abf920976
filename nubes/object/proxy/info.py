"""The account and container records the access checks read (ACLs, TempURL and FormPost keys,
quotas, CORS): one HEAD of each per request at most, as Swift's ``get_container_info``.

Both come from the proxy's cache of records (``Cluster.container_info``: 60 s, forgotten at once
by this proxy's own PUT, POST or DELETE of the record, never holding a 404), as Swift's checks
read memcache; a record that sets a quota is read afresh, so the quota sees today's usage."""

from __future__ import annotations

from typing import Any

from nubes.object.proxy.base import Cluster
from nubes.object.proxy.errors import SwiftError

_MEMO = "nubes.object.records"


def _memo(req: Any) -> dict[tuple[str, ...], dict[str, str] | None]:
    return req.scope.setdefault(_MEMO, {})


# A record with a quota is read afresh: its usage must be today's, not the cache's.
QUOTA_KEYS = ("x-container-meta-quota-bytes", "x-container-meta-quota-count",
              "x-account-meta-quota-bytes", "x-account-sysmeta-quota-bytes")


async def _cached(cluster: Cluster, ring: Any, path: tuple[str, ...]) -> dict[str, str] | None:
    headers = cluster.container_info.get(path)
    if headers is not None and any(headers.get(k) for k in QUOTA_KEYS):
        headers = None
    if headers is None:
        headers = await _head(cluster, ring, path)
        if headers is not None:
            cluster.container_info.put(path, headers)
    return headers


async def _head(cluster: Cluster, ring: Any, path: tuple[str, ...]) -> dict[str, str] | None:
    part, nodes = cluster.read_nodes(ring, *path)
    answer, others = await cluster.backend.first_good(nodes, part, "HEAD", path, {})
    if answer is not None:
        return {k.lower(): v for k, v in answer.headers.items()}
    if any(a.status == 404 for a in others):
        return None
    raise SwiftError(503)


async def container_info(cluster: Cluster, req: Any, account: str, container: str
                         ) -> dict[str, str] | None:
    """The container's headers as its servers keep them (lower-case names, ``x-container-read``,
    ``x-container-meta-*``, counts), None when it does not exist; 503 when no server answers."""
    memo = _memo(req)
    key = (account, container)
    if key not in memo:
        memo[key] = await _cached(cluster, cluster.container_ring, key)
    return memo[key]


async def account_info(cluster: Cluster, req: Any, account: str) -> dict[str, str]:
    """The account's headers (empty for an account not made yet: autocreate)."""
    memo = _memo(req)
    key = (account,)
    if key not in memo:
        memo[key] = await _cached(cluster, cluster.account_ring, key)
    return memo[key] or {}


def forget(req: Any, account: str, container: str | None = None) -> None:
    """Drop what this request read about a record it is about to change."""
    _memo(req).pop((account,) if container is None else (account, container), None)
