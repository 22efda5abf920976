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
