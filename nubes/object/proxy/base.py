"""What the account, container and object controllers share: the cluster's rings, the backend
client, authorization, timestamps and the headers that pass between client and servers."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.responses import Response

from nubes.object.proxy import constraints
from nubes.object.proxy.backend import Answer, Backend, best_status
from nubes.object.proxy.errors import SwiftError

LOG = logging.getLogger(__name__)
RING_RELOAD_INTERVAL = 15.0         # seconds (Swift's reload_time)
CONTAINER_INFO_TTL = 60.0           # seconds (Swift's recheck_container_existence)
# Where access.py leaves its decision (acl.Grant) for the controllers.
GRANT = "nubes.object.grant"
# Response headers that belong to one connection or to the backend, never sent on.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "server", "date", "content-length"}
# Headers between proxy and servers only: the backend's own, and system metadata (Swift's sysmeta).
INTERNAL_PREFIXES = ("x-backend-", "x-object-sysmeta-", "x-container-sysmeta-", "x-account-sysmeta-")


def timestamp() -> str:
    """Now in Swift's normal form (``1700000000.12345``): the version a write gets."""
    return f"{time.time():016.5f}"


def client_headers(headers: httpx.Headers, keep_length: bool = False) -> dict[str, str]:
    out = {}
    for key, value in headers.items():
        low = key.lower()
        if low.startswith(INTERNAL_PREFIXES) or (low in HOP_HEADERS and not
                                            (keep_length and low == "content-length")):
            continue
        out[key] = value
    return out


def passed(headers: Any, prefixes: tuple[str, ...], names: tuple[str, ...] = ()) -> dict[str, str]:
    """The client's headers a server is told: those named and those with the prefixes;
    ``X-Remove-<Kind>-Meta-<Name>`` becomes the meta header with an empty value (a removal)."""
    out = {}
    for key, value in headers.items():
        low = key.lower()
        if low in names or low.startswith(prefixes):
            out[low] = value
        elif low.startswith("x-remove-"):
            kept = "x-" + low[len("x-remove-"):]
            if kept.startswith(prefixes) and "-meta-" in kept:
                out.setdefault(kept, "")
    return out


class InfoCache:
    """Answers this proxy looked up lately (a container's headers): each kept ``ttl`` seconds, at
    most ``size`` of them, the least recently used dropped first; a write through this proxy
    forgets its entry at once."""

    def __init__(self, ttl: float = CONTAINER_INFO_TTL, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[tuple[str, ...], tuple[float, dict[str, str]]] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> dict[str, str] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if time.monotonic() >= entry[0]:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: tuple[str, ...], value: dict[str, str]) -> None:
        self._entries[key] = (time.monotonic() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, key: tuple[str, ...]) -> None:
        self._entries.pop(key, None)


@dataclass
class Cluster:
    """The three rings, the backend client and the container info this proxy caches."""

    account_ring: Any
    container_ring: Any
    object_ring: Any
    backend: Backend
    max_file_size: int
    listing_limit: int
    container_info: InfoCache = field(default_factory=InfoCache)    # containers' and accounts' records

    def __post_init__(self) -> None:
        self._next_reload = time.monotonic() + RING_RELOAD_INTERVAL

    def _maybe_reload(self) -> None:
        """A ring file copied in (a rebalance) is read within RING_RELOAD_INTERVAL seconds."""
        if time.monotonic() < self._next_reload:
            return
        self._next_reload = time.monotonic() + RING_RELOAD_INTERVAL
        for ring in (self.account_ring, self.container_ring, self.object_ring):
            try:
                ring.reload_if_changed()
            except Exception as exc:      # a half-copied or broken file: keep the ring we have
                LOG.warning("ring %s not reloaded: %s", ring.path, exc)

    def nodes(self, ring: Any, *path: str) -> tuple[int, list[Any], Any]:
        self._maybe_reload()
        part, primaries = ring.get_nodes(*path)
        return part, primaries, ring.handoffs(part)

    def read_nodes(self, ring: Any, *path: str) -> tuple[int, list[Any]]:
        """The primaries, then as many handoffs (Swift's request_node_count = 2 * replicas)."""
        part, primaries, handoffs = self.nodes(ring, *path)
        extra = []
        for node in handoffs:
            if len(extra) >= len(primaries):
                break
            extra.append(node)
        return part, [*primaries, *extra]


def authorize(req: Any, account: str, write: bool) -> None:
    """Refuse (403) a caller that may not read (or write) ``account``: keystoneauth's rules,
    decided by the policy engine (policies.py)."""
    constraints.check_account(account)
    grant = req.scope.get(GRANT)
    if grant is not None and grant.account == account:
        return      # decided before the controller (access.py), which checks links and segments too
    if not account.startswith(constraints.RESELLER_PREFIX) or len(account) == 5:
        raise SwiftError(403)
    target = {"project_id": account[len(constraints.RESELLER_PREFIX):]}
    req.ctx.can("object:account_operator" if write else "object:account_reader", target)


def quorum_response(answers: list[Answer | None], n: int, ok_headers: dict[str, str] | None = None
                    ) -> Response:
    """The client's answer to a write sent to ``n`` nodes: the quorum's status, else 503."""
    status = best_status([a.status if a is not None else None for a in answers], n)
    if status is None or status >= 500:
        raise SwiftError(503)
    if status >= 400:
        raise SwiftError(status)
    return Response(b"", status, headers=ok_headers or {})


def listing_response(answer: Answer) -> Response:
    return Response(answer.body, answer.status, headers=client_headers(answer.headers))


def not_found_or_unavailable(others: list[Answer]) -> SwiftError:
    if any(a.status == 404 for a in others):
        return SwiftError(404)
    return SwiftError(503)


LISTING_PARAMS = ("format", "prefix", "delimiter", "marker", "end_marker", "limit", "reverse",
                  "path")


def listing_params(req: Any, limit: int) -> dict[str, str]:
    constraints.listing_limit(req.query_params.get("limit"), limit)
    params = {k: v for k, v in req.query_params.items() if k in LISTING_PARAMS}
    accept = req.headers.get("accept", "")
    if "format" not in params:
        if "application/json" in accept:
            params["format"] = "json"
        elif "xml" in accept:
            params["format"] = "xml"
    return params
