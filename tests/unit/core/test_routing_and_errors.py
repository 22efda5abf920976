import json

import pytest

from nubes.core.api.routing import Route, Router
from nubes.core.errors import api_wg, keystone_style, neutron_style, nova_style
from nubes.core.exceptions import CloudError, Conflict, MethodNotAllowed, NotFound, Unauthorized


async def h(req):  # pragma: no cover - never called
    return None


def test_router_matches_params_and_head():
    r = Router([Route("GET", "/v3/users/{user_id}", h), Route("DELETE", "/v3/users/{user_id}", h),
                Route("GET", "/v1/{path:path}", h)])
    route, params = r.match("GET", "/v3/users/abc")
    assert params == {"user_id": "abc"}
    assert r.match("HEAD", "/v3/users/abc")[0].method == "GET"
    assert r.match("GET", "/v3/users/abc/")[1] == {"user_id": "abc"}
    assert r.match("GET", "/v1/a/b/c")[1] == {"path": "a/b/c"}


def test_router_405_and_404():
    r = Router([Route("GET", "/v3/users", h)])
    with pytest.raises(MethodNotAllowed, match="allowed: GET, HEAD"):
        r.match("POST", "/v3/users")
    with pytest.raises(NotFound):
        r.match("GET", "/v3/nothing")


def test_keystone_body_and_www_authenticate():
    status, headers, body = keystone_style.render(Unauthorized(), "req-1")
    assert status == 401 and "www-authenticate" in headers
    assert json.loads(body) == {"error": {"code": 401, "title": "Unauthorized",
                                          "message": Unauthorized.message}}


def test_nova_fault_names():
    status, _, body = nova_style.render(Conflict("busy"), "req-1")
    assert status == 409 and json.loads(body) == {"conflictingRequest": {"code": 409, "message": "busy"}}
    _, _, body = nova_style.render(CloudError(), "req-1")
    assert "computeFault" in json.loads(body)
    # Nova names these statuses and no others (an unsupported microversion's 406 is a computeFault).
    named = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
             406: "computeFault", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
             429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable"}
    for status, name in named.items():
        err = CloudError("x")
        err.status = status
        assert list(json.loads(nova_style.render(err, "req-1")[2])) == [name], status


def test_neutron_and_placement_bodies():
    _, _, body = neutron_style.render(NotFound("no net"), "req-1")
    assert json.loads(body)["NeutronError"]["message"] == "no net"
    _, _, body = api_wg.render(NotFound("gone"), "req-9")
    err = json.loads(body)["errors"][0]
    assert err["status"] == 404 and err["request_id"] == "req-9"


def test_errors_cross_the_bus_as_data():
    err = CloudError.from_dict(Conflict("in use").to_dict())
    assert isinstance(err, Conflict) and err.message == "in use"


def test_neutron_types_follow_upstream():
    from nubes.core.exceptions import BadRequest, PolicyNotAuthorized, Unauthorized

    _, _, body = neutron_style.render(BadRequest("bad"), "req-1")
    assert json.loads(body)["NeutronError"]["type"] == "HTTPBadRequest"
    _, _, body = neutron_style.render(PolicyNotAuthorized("create_network:shared"), "req-1")
    assert json.loads(body)["NeutronError"] == {
        "type": "PolicyNotAuthorized", "message": "rule:create_network:shared is disallowed by policy",
        "detail": ""}
    status, headers, body = neutron_style.render(Unauthorized(), "req-1", www_authenticate='Keystone uri="x"')
    assert status == 401 and "error" in json.loads(body) and headers["www-authenticate"] == 'Keystone uri="x"'


@pytest.mark.parametrize("accept", [None, "application/json", "text/plain"])
def test_glance_bodies_encode_any_message(accept):
    from nubes.core.errors import glance_style
    from nubes.core.exceptions import BadRequest

    status, _, body = glance_style.render(BadRequest("Pointer `\ud800x` does not start with \"/\"."), "req-1",
                                          accept=accept)
    assert status == 400 and b"does not start with" in body


async def _call(app, headers: list[tuple[bytes, bytes]], path: str = "/things") -> tuple[int, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": headers, "http_version": "1.1", "scheme": "http", "server": ("h", 80),
             "client": ("c", 1), "root_path": ""}
    await app(scope, receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def test_a_token_that_is_not_ascii_never_reaches_the_validator():
    from nubes.core.api.app import ServiceApp

    seen: list[str] = []

    async def authenticate(token, request_id):
        seen.append(token)
        token.encode("ascii")      # what forwarding it to identity as a header would do
        raise Unauthorized()

    app = ServiceApp("t", [Route("GET", "/things", h)], keystone_style.render, None, authenticate)
    status, body = await _call(app, [(b"x-auth-token", "t\u00e9t\u00e9".encode("latin-1"))])
    assert status == 401 and json.loads(body)["error"]["code"] == 401 and seen == []
    status, _ = await _call(app, [(b"x-auth-token", b"plain-token")])
    assert status == 401 and seen == ["plain-token"]


async def test_a_message_the_renderer_cannot_encode_still_renders():
    from nubes.core.api.app import ServiceApp
    from nubes.core.exceptions import BadRequest

    async def handler(req):
        raise BadRequest("bad \ud800 input")

    def strict(exc, request_id):
        return exc.status, {}, exc.message.encode()     # a renderer that assumes encodable text

    app = ServiceApp("t", [Route("GET", "/things", handler, public=True)], strict, None, None)
    status, body = await _call(app, [])
    assert status == 400 and body == b"bad \\ud800 input"


async def test_a_nul_in_a_path_parameter_is_a_400_before_the_handler():
    from nubes.core.api.app import ServiceApp

    called: list[str] = []

    async def handler(req):
        called.append(req.path_params["thing_id"])
        raise NotFound()

    app = ServiceApp("t", [Route("GET", "/things/{thing_id}", handler, public=True)], keystone_style.render,
                     None, None)
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    for path, status in (("/things/a\x00b", 400), ("/things/ab", 404)):
        sent.clear()
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": [], "http_version": "1.1", "scheme": "http", "server": ("h", 80),
                 "client": ("c", 1), "root_path": ""}
        await app(scope, receive, send)
        assert sent[0]["status"] == status
    assert called == ["ab"]


async def test_a_501_is_logged_as_an_answer_and_a_500_as_a_failure(caplog):
    import logging

    from nubes.core.api.app import ServiceApp
    from nubes.core.exceptions import NotImplementedYet

    async def not_built(req):
        raise NotImplementedYet("tasks are not implemented")

    async def broken(req):
        raise CloudError("the disk is gone")

    app = ServiceApp("t", [Route("GET", "/tasks", not_built, public=True),
                           Route("GET", "/disk", broken, public=True)], keystone_style.render, None, None)
    with caplog.at_level(logging.INFO, logger="nubes.core.api.app"):
        assert (await _call(app, [], path="/tasks"))[0] == 501
        assert (await _call(app, [], path="/disk"))[0] == 500
    levels = {r.getMessage().split(":")[0]: r.levelname for r in caplog.records}
    assert levels == {"GET /tasks": "INFO", "GET /disk failed": "ERROR"}
