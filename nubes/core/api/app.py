"""The ASGI app every service runs: request id, metrics, error rendering, authentication, routing.

The stack is one visible function rather than a pipeline of wrappers so the
order is obvious: request id → timing/metrics → catch errors → health/metrics
endpoints → authentication → route dispatch.

``/metrics`` follows ``[core] metrics``: on, off (an unknown path: 404 in the service's
format) or behind a static bearer token. An app that instances reach (compute's metadata
API, through the network's metadata proxy) never serves it.
"""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import PlainTextResponse, Response

from nubes.core.api.http import Request
from nubes.core.api.metrics import Metrics
from nubes.core.api.routing import Route, Router
from nubes.core.auth import access_rules
from nubes.core.context import RequestContext, new_request_id, reset_request_id, set_request_id
from nubes.core.errors import Renderer
from nubes.core.exceptions import BadRequest, CloudError, Unauthorized

LOG = logging.getLogger(__name__)

_TOKEN_TEXT = re.compile(r"[\x21-\x7e]+")

# Validates a token and returns the caller's context; raises Unauthorized.
Authenticator = Callable[[str, str], Awaitable[RequestContext]]
# Last chance to adjust the context (microversion parsing, policy binding).
ContextHook = Callable[[Request], Awaitable[None] | None]


def bearer_matches(req: Request, token: str) -> bool:
    scheme, _, given = req.headers.get("authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode())


class ServiceApp:
    def __init__(self, name: str, routes: list[Route], render_error: Renderer, runtime: Any,
                 authenticate: Authenticator, *, enforcer: Any = None,
                 request_id_header: str = "x-openstack-request-id",
                 context_hook: ContextHook | None = None,
                 on_startup: list[Callable[[], Awaitable[None]]] | None = None,
                 on_shutdown: list[Callable[[], Awaitable[None]]] | None = None,
                 metrics_endpoint: bool = True) -> None:
        self.name = name
        self.router = Router(routes)
        self.render_error = render_error
        self.runtime = runtime
        self.authenticate = authenticate
        self.enforcer = enforcer
        self.request_id_header = request_id_header
        self.context_hook = context_hook
        self.metrics = Metrics(name)
        core = getattr(getattr(runtime, "conf", None), "core", None)
        self.metrics_mode = getattr(core, "metrics", "on") if metrics_endpoint else "off"
        self.metrics_token = getattr(core, "metrics_token", "")
        self.on_startup = on_startup or []
        self.on_shutdown = on_shutdown or []
        self._service_type: str | None = None

    @property
    def service_type(self) -> str:
        """The type access rules name this service by, from its spec (compute, network ...)."""
        if self._service_type is None:
            self._service_type = access_rules.service_type_of(getattr(self.runtime, "name", None)
                                                              or self.name)
        return self._service_type

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = new_request_id()
        rid_token = set_request_id(request_id)
        start = time.perf_counter()
        status_holder = [500]
        route_name = "unmatched"
        rid_header = (self.request_id_header.encode(), request_id.encode())

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], rid_header]
            await send(message)

        try:
            req = Request(scope, receive)
            req.rt = self.runtime
            route_name = await self._handle(req, request_id, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            self.metrics.observe(scope["method"], route_name, status_holder[0], elapsed)
            LOG.debug("%s %s -> %s in %.1f ms", scope["method"], scope["path"], status_holder[0],
                      elapsed * 1000)
            reset_request_id(rid_token)

    async def _handle(self, req: Request, request_id: str, send: Callable) -> str:
        path = req.scope["path"]
        route_name = "unmatched"
        try:
            if path == "/healthcheck":
                await PlainTextResponse("OK")(req.scope, req.receive, send)
                return "/healthcheck"
            if path == "/metrics" and self.metrics_mode != "off":
                if self.metrics_mode == "token" and not bearer_matches(req, self.metrics_token):
                    response = self._error_response(Unauthorized(
                        "/metrics needs the header Authorization: Bearer <[core] metrics_token>."), request_id)
                    response.headers["www-authenticate"] = 'Bearer realm="metrics"'
                    await response(req.scope, req.receive, send)
                    return "/metrics"
                await PlainTextResponse(self.metrics.render(),
                                        media_type="text/plain; version=0.0.4")(req.scope, req.receive, send)
                return "/metrics"
            route, params = self.router.match(req.scope["method"], path)
            route_name = route.path
            if any("\0" in value for value in params.values()):
                # As in bodies (core.jsondoc): no id or name holds one, and PostgreSQL cannot store
                # or compare one, so every backend answers the same.
                raise BadRequest("Invalid input: the path holds a NUL character (%00); no identifier "
                                 "or name accepts one.")
            req.scope["path_params"] = params
            req.route_name = route.name or route.path
            token = req.headers.get("x-auth-token")
            if token and not _TOKEN_TEXT.fullmatch(token):
                # No token is anything but printable ASCII; such bytes must not reach the
                # validator (they cannot be sent on to identity as a header).
                raise Unauthorized("The request you have made requires authentication.")
            if token:
                req.ctx = await self.authenticate(token, request_id)
                req.ctx.request_id = request_id
                rules = req.ctx.access_rules
                if rules is not None and not access_rules.allows(rules, self.service_type,
                                                                 req.scope["method"], path):
                    # keystonemiddleware's answer: the token is not valid for this request.
                    LOG.info("%s %s refused: no access rule of application credential %s allows it",
                             req.scope["method"], path, req.ctx.app_cred_id)
                    raise Unauthorized("The request you have made requires authentication.")
            elif route.public:
                req.ctx = RequestContext(request_id=request_id)
            else:
                raise Unauthorized("The request you have made requires authentication.")
            req.ctx.enforcer = self.enforcer
            if self.context_hook is not None:
                result = self.context_hook(req)
                if result is not None:
                    await result
            response: Response = await route.handler(req)
        except CloudError as exc:
            if exc.status == 501:
                # An honest "not implemented" is an answer, not a failure of the service.
                LOG.info("%s %s: not implemented: %s", req.scope["method"], path, exc.message)
            elif exc.status >= 500:
                LOG.error("%s %s failed: %s", req.scope["method"], path, exc.message)
            response = self._error_response(exc, request_id)
        except Exception:
            LOG.exception("unexpected error in %s %s", req.scope["method"], path)
            response = self._error_response(CloudError(), request_id)
        await response(req.scope, req.receive, send)
        return route_name

    def _error_response(self, exc: CloudError, request_id: str) -> Response:
        try:
            status, headers, body = self.render_error(exc, request_id)
        except Exception as failure:
            # A message the renderer cannot encode must still give the client an answer. That case
            # is logged without the traceback, which would carry the unencodable text itself.
            if isinstance(failure, UnicodeError):
                LOG.warning("%s could not encode the message of %s; sent it escaped", self.name,
                            type(exc).__name__)
            else:
                LOG.exception("%s could not render %s", self.name, type(exc).__name__)
            plain = CloudError(exc.message.encode("utf-8", "backslashreplace").decode())
            plain.status, plain.title = exc.status, exc.title  # type: ignore[misc]
            status, headers, body = self.render_error(plain, request_id)
        return Response(body, status, headers=headers)

    async def _lifespan(self, receive: Callable, send: Callable) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    for fn in self.on_startup:
                        await fn()
                except Exception as exc:
                    LOG.exception("%s failed to start", self.name)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for fn in self.on_shutdown:
                    try:
                        await fn()
                    except Exception:
                        LOG.exception("%s shutdown hook failed", self.name)
                await send({"type": "lifespan.shutdown.complete"})
                return
