"""Token validation for every service but identity: ask identity, cache, honour revocation.

Identity publishes ``identity.revocation`` on the bus whenever a token may have
stopped being valid (revoked token, disabled user or project, changed password,
removed role).  Every validator clears its cache on that event, and cached
entries also expire after ``ttl`` seconds, so a missed event costs at most ttl.
A cached validation never outlives the token itself: the cache keeps each
token's ``expires_at`` and refuses it from that instant (this host's clock, as
keystonemiddleware checks it).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

import httpx

from nubes.core.concurrency import cancelled_if_cancelling
from nubes.core.context import RequestContext
from nubes.core.exceptions import ServiceUnavailable, Unauthorized

LOG = logging.getLogger(__name__)

REVOCATION_EVENT = "identity.revocation"


def context_from_token(body: dict[str, Any], auth_token: str) -> RequestContext:
    """Build the caller's context from an identity token body ({"token": {...}})."""
    t = body["token"]
    user = t.get("user") or {}
    ctx = RequestContext(
        user_id=user.get("id"), user_name=user.get("name"),
        user_domain_id=(user.get("domain") or {}).get("id"),
        user_domain_name=(user.get("domain") or {}).get("name"),
        roles=[r["name"] for r in t.get("roles") or []],
        auth_token=auth_token, catalog=t.get("catalog") or [], expires_at=t.get("expires_at"),
    )
    project = t.get("project")
    if project:
        ctx.project_id = project["id"]
        ctx.project_name = project.get("name")
        ctx.project_domain_id = (project.get("domain") or {}).get("id")
        ctx.project_domain_name = (project.get("domain") or {}).get("name")
        ctx.is_admin_project = bool(t.get("is_admin_project", True))
    domain = t.get("domain")
    if domain:
        ctx.domain_id = domain["id"]
        ctx.domain_name = domain.get("name")
    if (t.get("system") or {}).get("all"):
        ctx.system_scope = "all"
    app_cred = t.get("application_credential")
    if app_cred:
        ctx.app_cred_id = app_cred.get("id")
        rules = app_cred.get("access_rules")
        if isinstance(rules, list):
            ctx.access_rules = rules
    trust = t.get("OS-TRUST:trust")
    if trust:
        ctx.trust_id = trust.get("id")
    return ctx


def token_expiry(body: dict[str, Any]) -> float | None:
    """The token's ``expires_at`` (ISO 8601, as identity renders it) as a POSIX timestamp."""
    text = (body.get("token") or {}).get("expires_at")
    if not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


class TokenCache:
    """Validated token bodies, each kept until ``ttl`` seconds pass or its token expires.

    ``ttl`` is counted on the monotonic clock (a revocation missed on the bus costs at most
    that); ``expires_at`` is the token's own expiry on the wall clock, which is what
    identity signs into the token and what every validator compares with.
    """

    def __init__(self, ttl: float = 60.0, size: int = 10000) -> None:
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, float, Any]] = OrderedDict()

    def get(self, token: str) -> Any:
        item = self._items.get(token)
        if item is None:
            return None
        deadline, expires_at, body = item
        if time.monotonic() >= deadline or time.time() >= expires_at:
            self._items.pop(token, None)
            return None
        self._items.move_to_end(token)
        return body

    def put(self, token: str, body: Any, expires_at: float | None) -> None:
        """Keep ``body`` for ``token`` until its expiry (a POSIX timestamp; None: ``ttl`` only)."""
        expires = math.inf if expires_at is None else expires_at
        if time.time() >= expires:
            self._items.pop(token, None)
            return
        self._items[token] = (time.monotonic() + self.ttl, expires, body)
        self._items.move_to_end(token)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


SERVICE_TOKEN_REUSE = 1800.0     # seconds at most a service token is reused
SERVICE_TOKEN_MARGIN = 120.0     # renewed this long before it expires (keystoneauth's margin)


def _reuse_for(expires_at: float | None) -> float:
    """How long to reuse a service token expiring at ``expires_at``: renewed well before it lapses
    (at half its life when that is shorter than the margin, as with a few seconds' lifetime)."""
    if expires_at is None:
        return SERVICE_TOKEN_REUSE
    left = expires_at - time.time()
    return max(0.0, min(SERVICE_TOKEN_REUSE, left - min(SERVICE_TOKEN_MARGIN, left / 2)))


class RemoteTokenValidator:
    """Validates user tokens against identity's GET /v3/auth/tokens with a service token."""

    def __init__(self, identity_url: str, username: str, password: str, project: str,
                 *, bus: Any = None, ttl: float = 60.0, http: httpx.AsyncClient | None = None) -> None:
        self.identity_url = identity_url.rstrip("/")
        self.username, self.password, self.project = username, password, project
        self.cache = TokenCache(ttl)
        self.bus = bus
        self.http = http or httpx.AsyncClient(timeout=30.0)
        self._service_token: str | None = None
        self._service_token_deadline = 0.0
        self._lock = asyncio.Lock()
        self._subscribed = False

    async def start(self) -> None:
        if self.bus is not None and not self._subscribed:
            await self.bus.subscribe(REVOCATION_EVENT, self._on_revocation)
            self._subscribed = True

    async def _on_revocation(self, _event: str, _payload: dict[str, Any]) -> None:
        self.cache.clear()

    async def service_token(self) -> str:
        async with self._lock:
            if self._service_token and time.monotonic() < self._service_token_deadline:
                return self._service_token
            body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": self.username, "domain": {"id": "default"}, "password": self.password}}},
                "scope": {"project": {"name": self.project, "domain": {"id": "default"}}}}}
            try:
                resp = await self.http.post(f"{self.identity_url}/v3/auth/tokens?nocatalog",
                                            json=body)
            except httpx.HTTPError as exc:
                cancelled_if_cancelling()
                raise ServiceUnavailable(f"Identity service unreachable: {exc}") from None
            if resp.status_code != 201:
                raise ServiceUnavailable(
                    f"This service cannot authenticate to identity ({resp.status_code}).")
            self._service_token = resp.headers["x-subject-token"]
            self._service_token_deadline = time.monotonic() + _reuse_for(token_expiry(_json(resp)))
            return self._service_token

    def forget_service_token(self) -> None:
        """Our service token was refused (expired or revoked): the next call gets a new one."""
        self._service_token = None

    async def validate_body(self, token: str) -> dict[str, Any]:
        cached = self.cache.get(token)
        if cached is not None:
            return cached
        for attempt in (1, 2):
            headers = {"X-Auth-Token": await self.service_token(), "X-Subject-Token": token}
            try:
                resp = await self.http.get(f"{self.identity_url}/v3/auth/tokens", headers=headers)
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(f"Identity service unreachable: {exc}") from None
            if resp.status_code == 200:
                body = resp.json()
                expires_at = token_expiry(body)
                if expires_at is not None and time.time() >= expires_at:
                    # identity's clock is behind ours, or the answer was slow: expired here
                    raise Unauthorized("The request you have made requires authentication.")
                self.cache.put(token, body, expires_at)
                return body
            if resp.status_code == 404:
                raise Unauthorized("The request you have made requires authentication.")
            if resp.status_code == 401 and attempt == 1:
                self.forget_service_token()  # our own token lapsed; get a new one and retry
                continue
            raise ServiceUnavailable(f"Identity answered {resp.status_code} validating a token.")
        raise Unauthorized()

    async def __call__(self, token: str, request_id: str) -> RequestContext:
        return context_from_token(await self.validate_body(token), token)

    async def close(self) -> None:
        await self.http.aclose()
