"""Microversions as OpenStack services negotiate them, one implementation for every service.

A request names a version with ``OpenStack-API-Version: <service type> X.Y`` (or ``latest``;
compute also reads its legacy ``X-OpenStack-Nova-API-Version: X.Y``); no header means the
minimum. The answer says which version it is in the same headers, with ``Vary``. Handlers
branch on ``req.ctx.api_version`` in schema selection and views only; a route that appeared
in a later version does not exist (404) below it.

Each service keeps its list of versions (``(version, what it added)``) and its own wording of
the two errors, through the ``errors`` callable: ``errors("invalid", text)`` for a malformed
version (400) and ``errors("unacceptable", text)`` for one outside the range (406).
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Sequence
from typing import Any

from nubes.core.api.http import Request

Version = tuple[int, int]
_VERSION = re.compile(r"(\d+)\.(\d+)")


def parse_version(text: str) -> Version:
    major, minor = text.split(".")
    return int(major), int(minor)


class Microversions:
    HEADER = "openstack-api-version"

    def __init__(self, service_type: str, versions: Sequence[tuple[str, str]], *,
                 errors: Callable[[str, str], Exception], legacy_header: str | None = None) -> None:
        self.service_type = service_type
        self.versions = list(versions)
        self.min: Version = parse_version(self.versions[0][0])
        self.max: Version = parse_version(self.versions[-1][0])
        self.min_str = "%d.%d" % self.min
        self.max_str = "%d.%d" % self.max
        self.errors = errors
        self.legacy_header = legacy_header.lower() if legacy_header else None
        self._negotiated: contextvars.ContextVar[Version | None] = contextvars.ContextVar(
            f"{service_type}_version", default=None)

    def parse(self, header: str | None, legacy: str | None = None) -> Version:
        wanted = None
        for part in (header or "").split(","):
            words = part.strip().split()
            if len(words) == 2 and words[0].lower() == self.service_type:
                wanted = words[1]
        if wanted is None and legacy:
            wanted = legacy.strip()
        if wanted is None:
            return self.min
        if wanted.lower() == "latest":
            return self.max
        m = _VERSION.fullmatch(wanted)
        if not m:
            raise self.errors("invalid", wanted)
        version = (int(m.group(1)), int(m.group(2)))
        if not self.min <= version <= self.max:
            raise self.errors("unacceptable", wanted)
        return version

    def context_hook(self, req: Request) -> None:
        legacy = req.headers.get(self.legacy_header) if self.legacy_header else None
        version = self.parse(req.headers.get(self.HEADER), legacy)
        req.ctx.api_version = version
        self._negotiated.set(version)

    def gate(self, version: str, handler: Callable[..., Any],
             not_found: Callable[[], Exception]) -> Callable[..., Any]:
        wanted = parse_version(version)

        async def gated(req: Request) -> Any:
            if req.ctx.api_version < wanted:
                raise not_found()
            return await handler(req)

        gated.__name__ = getattr(handler, "__name__", "gated")
        return gated

    def headers_app(self, app: Any) -> Any:
        """Wrap an ASGI app so every version-negotiated response names its version."""
        return _VersionHeaders(app, self)


class _VersionHeaders:
    def __init__(self, app: Any, mv: Microversions) -> None:
        self.app = app
        self.mv = mv

    def __getattr__(self, name: str) -> Any:
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mv = self.mv
        token = mv._negotiated.set(None)

        async def send_with_version(message: dict) -> None:
            if message["type"] == "http.response.start":
                version = mv._negotiated.get()
                if version is not None:
                    text = b"%d.%d" % version
                    extra = [(b"openstack-api-version", mv.service_type.encode() + b" " + text)]
                    vary = b"openstack-api-version"
                    if mv.legacy_header:
                        extra.append((mv.legacy_header.encode(), text))
                        vary += b", " + mv.legacy_header.encode()
                    extra.append((b"vary", vary))
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_version)
        finally:
            mv._negotiated.reset(token)
