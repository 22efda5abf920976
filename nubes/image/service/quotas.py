"""Per-project quotas from identity's unified limits, with Glance's resource names.

Glance's resources: ``image_count_total`` (images a project owns), ``image_size_total``
(MiB of image data stored, every copy counted), ``image_stage_total`` (MiB staged for
import) and ``image_count_uploading`` (images being uploaded, staged or imported). The
limit for a project is its project limit if one exists, else the registered (default)
limit; if neither exists for a resource, that resource has no quota. Lookups use the
service token and are cached for ``limits_cache_ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from nubes.image.exceptions import QuotaExceeded

LOG = logging.getLogger(__name__)

COUNT_TOTAL = "image_count_total"
SIZE_TOTAL = "image_size_total"
STAGE_TOTAL = "image_stage_total"
COUNT_UPLOADING = "image_count_uploading"
MIB = 1024 * 1024

# Fetches limits: (project_id, resource) -> limit or None (no limit registered).
LimitSource = Callable[[str, str], Awaitable[int | None]]


class UnifiedLimits:
    """Reads /v3/registered_limits and /v3/limits for service type "image" from identity."""

    def __init__(self, tokens: Any, *, ttl: float = 30.0, region: str | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.tokens = tokens
        self.ttl = ttl
        self.region = region
        self.http = http or httpx.AsyncClient(timeout=10.0)
        self._cache: dict[tuple[str, str], tuple[float, int | None]] = {}
        self._service_id: tuple[float, str | None] | None = None
        self._lock = asyncio.Lock()
        self._warned = False

    async def __call__(self, project_id: str, resource: str) -> int | None:
        now = time.monotonic()
        hit = self._cache.get((project_id, resource))
        if hit and hit[0] > now:
            return hit[1]
        async with self._lock:
            value = await self._lookup(project_id, resource)
        self._cache[(project_id, resource)] = (time.monotonic() + self.ttl, value)
        return value

    def clear(self) -> None:
        self._cache.clear()
        self._service_id = None

    async def _get(self, path: str, params: dict[str, str]) -> dict[str, Any] | None:
        url = f"{self.tokens.identity_url}/v3{path}"
        headers = {"X-Auth-Token": await self.tokens.service_token()}
        try:
            resp = await self.http.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            LOG.warning("cannot read unified limits from identity: %s", exc)
            return None
        if resp.status_code != 200:
            if not self._warned:
                LOG.warning("identity answered %s to %s; image quotas are not enforced",
                            resp.status_code, path)
                self._warned = True
            return None
        return resp.json()

    async def _image_service_id(self) -> str | None:
        now = time.monotonic()
        if self._service_id and self._service_id[0] > now:
            return self._service_id[1]
        body = await self._get("/services", {"type": "image"})
        sid = None
        if body:
            services = [s for s in body.get("services", []) if s.get("type") == "image"]
            sid = services[0]["id"] if services else None
        self._service_id = (now + self.ttl, sid)
        return sid

    async def _lookup(self, project_id: str, resource: str) -> int | None:
        sid = await self._image_service_id()
        if sid is None:
            return None
        params = {"service_id": sid, "resource_name": resource}
        if self.region:
            params["region_id"] = self.region
        body = await self._get("/limits", {**params, "project_id": project_id})
        for lim in (body or {}).get("limits", []):
            if lim.get("project_id") in (project_id, None) and lim.get("resource_name") == resource:
                return int(lim["resource_limit"])
        body = await self._get("/registered_limits", params)
        for reg in (body or {}).get("registered_limits", []):
            if reg.get("resource_name") == resource:
                return int(reg["default_limit"])
        return None


class Quotas:
    """Checks usage + delta against a project's limit; the limit source is pluggable for tests."""

    def __init__(self, source: LimitSource | None) -> None:
        self.source = source

    async def limit(self, project_id: str | None, resource: str) -> int | None:
        if self.source is None or not project_id:
            return None
        return await self.source(project_id, resource)

    async def enforce(self, project_id: str | None, resource: str,
                      usage: Callable[[], Awaitable[int]], delta: int = 0) -> None:
        """Raise 413 if usage + delta would go over the limit (sizes in MiB, counts as they are)."""
        limit = await self.limit(project_id, resource)
        if limit is None:
            return
        current = await usage()
        if current + delta > limit:
            raise QuotaExceeded(over_limit_message(project_id, resource, limit, current, delta))

    async def remaining_bytes(self, project_id: str | None, resource: str,
                              usage_bytes: Callable[[], Awaitable[int]]) -> int | None:
        """Bytes that may still be written under a MiB-valued limit, or None without a limit."""
        limit = await self.limit(project_id, resource)
        if limit is None:
            return None
        used = await usage_bytes()
        if used > limit * MIB:
            raise QuotaExceeded(over_limit_message(project_id, resource, limit, used // MIB, 0))
        return limit * MIB - used


def over_limit_message(project_id: str | None, resource: str, limit: int, usage: int, delta: int) -> str:
    # oslo.limit's wording, which Glance passes through.
    return (f"Project {project_id} is over a limit for [Resource {resource} is over limit of {limit} "
            f"due to current usage {usage} and delta {delta}]")
