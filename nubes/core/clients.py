"""REST clients to the other services, as OpenStack services talk to each other.

A service finds the others in identity's catalog (``GET /v3/auth/catalog`` with its own
service token, cached) and calls them over HTTP, with its service token or with the
user's token it acts for, forwarding the request id as ``X-OpenStack-Request-ID`` so one
request can be followed across services in the logs.

Failures to reach a service, or a 5xx from it, become ``ServiceUnavailable`` with the
service's name in the message; any other answer is returned for the caller to map into
its own domain errors.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any
from urllib.parse import quote

import httpx

from nubes.core.concurrency import cancelled_if_cancelling
from nubes.core.context import current_request_id
from nubes.core.exceptions import ServiceUnavailable

LOG = logging.getLogger(__name__)

# What no URL may carry raw: a caller's path often holds an id a client sent (a NUL, a space,
# a non-ASCII name); percent-encoded, it reaches the other service, which answers 404 or 400.
_UNSAFE_IN_URL = re.compile(r"[^\x21-\x7e]|#")


class ServiceClients:
    def __init__(self, tokens: Any, *, region: str | None = None, interface: str = "internal",
                 http: httpx.AsyncClient | None = None, catalog_ttl: float = 60.0,
                 timeout: float = 60.0) -> None:
        self.tokens = tokens            # a RemoteTokenValidator: identity_url and service_token()
        self.region = region
        self.interface = interface
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self.catalog_ttl = catalog_ttl
        self._endpoints: dict[str, str] = {}
        self._loaded = 0.0
        self._lock = asyncio.Lock()

    async def _load_catalog(self) -> None:
        token = await self.tokens.service_token()
        url = f"{self.tokens.identity_url}/v3/auth/catalog"
        try:
            resp = await self.http.get(url, headers={"X-Auth-Token": token})
        except httpx.HTTPError as exc:
            cancelled_if_cancelling()
            raise ServiceUnavailable(f"Identity service unreachable: {exc}") from None
        if resp.status_code != 200:
            raise ServiceUnavailable(f"Identity answered {resp.status_code} for the service catalog.")
        endpoints: dict[str, str] = {}
        for entry in resp.json().get("catalog", []):
            for ep in entry.get("endpoints", []):
                if self.region and ep.get("region_id", ep.get("region")) not in (self.region, None):
                    continue
                if ep.get("interface") == self.interface or (
                        entry["type"] not in endpoints and ep.get("interface") == "public"):
                    endpoints[entry["type"]] = ep["url"].rstrip("/")
        self._endpoints = endpoints
        self._loaded = time.monotonic()

    async def endpoint(self, service_type: str) -> str:
        async with self._lock:
            if not self._endpoints or time.monotonic() - self._loaded > self.catalog_ttl:
                await self._load_catalog()
        url = self._endpoints.get(service_type)
        if url is None:
            raise ServiceUnavailable(f"No {service_type} service in the catalog.")
        return url

    async def has(self, service_type: str) -> bool:
        """Does the catalog list ``service_type``? (ServiceUnavailable: identity could not say.)"""
        async with self._lock:
            if not self._endpoints or time.monotonic() - self._loaded > self.catalog_ttl:
                await self._load_catalog()
        return service_type in self._endpoints

    async def request(self, service_type: str, method: str, path: str, *, token: str | None = None,
                      headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """Call ``service_type`` at ``path`` (relative to its catalog URL).

        ``token`` is the user's token to act as; without it the service token is used.
        """
        base = await self.endpoint(service_type)
        path = _UNSAFE_IN_URL.sub(lambda m: quote(m.group(), safe=""), path)
        h = {"X-Auth-Token": token or await self.tokens.service_token()}
        rid = current_request_id()
        if rid:
            h["X-OpenStack-Request-ID"] = rid
        h.update(headers or {})
        for attempt in (1, 2):
            try:
                resp = await self.http.request(method, f"{base}{path}", headers=h, **kwargs)
            except httpx.HTTPError as exc:
                cancelled_if_cancelling()
                raise ServiceUnavailable(f"The {service_type} service is unreachable: {exc}") from None
            if resp.status_code == 401 and token is None and attempt == 1:
                self.tokens.forget_service_token()      # our own token lapsed: get a new one, once
                h["X-Auth-Token"] = await self.tokens.service_token()
                continue
            break
        if resp.status_code >= 500:
            LOG.warning("%s %s %s answered %s: %s", service_type, method, path, resp.status_code,
                        resp.text[:300])
            raise ServiceUnavailable(f"The {service_type} service failed ({resp.status_code}).")
        return resp

    async def wait_until_reachable(self, service_types: tuple[str, ...], timeout: float,
                                   interval: float = 0.5) -> list[str]:
        """Wait (at most ``timeout`` seconds) until each of ``service_types`` that the catalog lists
        answers at its root; returns those that still do not. For work that should not start
        while the services it needs are still starting (a cloud coming back from a crash)."""
        deadline = time.monotonic() + timeout
        waiting = list(service_types)
        while waiting:
            for service_type in list(waiting):
                try:
                    await self.request(service_type, "GET", "")
                except ServiceUnavailable:
                    if self._endpoints and service_type not in self._endpoints:
                        waiting.remove(service_type)          # not part of this cloud
                    continue
                waiting.remove(service_type)
            if not waiting or time.monotonic() > deadline:
                break
            await asyncio.sleep(interval)
        return waiting

    async def close(self) -> None:
        await self.http.aclose()
