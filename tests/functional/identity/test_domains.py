"""Domains through the CLI and raw HTTP: CRUD, disable-before-delete, cascade, revocation, errors."""

from __future__ import annotations

import uuid

import httpx
import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Api:
    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.h = {"X-Auth-Token": token}

    def __call__(self, method: str, path: str, headers: dict | None = None, **kw) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={**self.h, **(headers or {})},
                             timeout=30, **kw)

    def create(self, kind: str, **body) -> dict:
        r = self("POST", f"/{kind}s", json={kind: body})
        assert r.status_code == 201, r.text
        return r.json()[kind]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


def _unscoped_token(cloud, user_id: str, password: str) -> str:
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user_id, "password": password}}}}})
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def test_domain_cli_lifecycle(cloud, api):
    name = _name("dom")
    d = cloud.osc("domain", "create", "--description", "made by the CLI", name)
    assert d["name"] == name and d["enabled"] is True and d["description"] == "made by the CLI"
    # An enabled domain cannot be deleted (Keystone: 403).
    res = cloud.osc("domain", "delete", name, check=False, json_out=False)
    assert res.returncode != 0 and "please disable it first" in res.stderr
    cloud.osc("domain", "set", "--disable", name, json_out=False)
    assert api("GET", f"/domains/{d['id']}").json()["domain"]["enabled"] is False
    cloud.osc("domain", "delete", name, json_out=False)
    _error(api("GET", f"/domains/{d['id']}"), 404)


def test_domain_filters_and_update(api):
    d = api.create("domain", name=_name("f"), tags=["x"], flavor="extra-attr")
    assert d["tags"] == ["x"] and d["flavor"] == "extra-attr" and d["options"] == {}
    rows = api("GET", f"/domains?name={d['name']}").json()["domains"]
    assert [r["id"] for r in rows] == [d["id"]]
    r = api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False, "description": "off"}})
    assert r.status_code == 200 and r.json()["domain"]["description"] == "off"
    disabled = {r["id"] for r in api("GET", "/domains?enabled=false").json()["domains"]}
    enabled = {r["id"] for r in api("GET", "/domains?enabled=true").json()["domains"]}
    assert d["id"] in disabled and d["id"] not in enabled and "default" in enabled
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204
    _error(api("GET", f"/domains/{d['id']}"), 404)


def test_domain_delete_removes_what_it_owns(cloud, api):
    d = api.create("domain", name=_name("owner"))
    parent = api.create("project", name=_name("p"), domain_id=d["id"])
    child = api.create("project", name=_name("c"), parent_id=parent["id"])
    user = api.create("user", name=_name("u"), domain_id=d["id"], password="pw-owner-1")
    group = api.create("group", name=_name("g"), domain_id=d["id"])
    assert api("PUT", f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    msg = _error(api("DELETE", f"/domains/{d['id']}"), 403)
    assert msg == "Cannot delete a domain that is enabled, please disable it first."
    token = _unscoped_token(cloud, user["id"], "pw-owner-1")
    check = {"X-Subject-Token": token}
    assert api("GET", "/auth/tokens", headers=check).status_code == 200
    # Disabling the domain ends the tokens of its users at once.
    assert api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}}).status_code == 200
    assert api("GET", "/auth/tokens", headers=check).status_code == 404
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": user["id"], "password": "pw-owner-1"}}}}})
    assert r.status_code == 401
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204
    for path in (f"/projects/{parent['id']}", f"/projects/{child['id']}", f"/users/{user['id']}",
                 f"/groups/{group['id']}", f"/domains/{d['id']}"):
        _error(api("GET", path), 404)


def test_explicit_domain_id(api):
    wanted = uuid.uuid4().hex
    d = api.create("domain", name=_name("explicit"), explicit_domain_id=wanted)
    assert d["id"] == wanted
    assert "Duplicate ID" in _error(api("POST", "/domains", json={"domain": {
        "name": _name("again"), "explicit_domain_id": wanted}}), 409)
    msg = _error(api("POST", "/domains", json={"domain": {"name": _name("bad"),
                                                         "explicit_domain_id": "not-a-uuid"}}), 400)
    assert "UUID" in msg
    api("PATCH", f"/domains/{wanted}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{wanted}").status_code == 204


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "Malformed JSON"),
    (b'{"domain": {}}', 400, "'name' is a required property"),
    (b'{"domain": "x"}', 400, "domain"),
    (b'{"domain": {"name": "Default"}}', 409, "same name: Default"),
    (b'{"domain": {"name": "x", "tags": ["a,b"]}}', 400, "tags"),
    (b'{"domain": {"name": "x", "options": {"nope": true}}}', 400, "options"),
])
def test_domain_create_errors(api, body, status, needle):
    r = api("POST", "/domains", content=body, headers={"content-type": "application/json"})
    assert needle in _error(r, status)


def test_domain_unknown_and_duplicate(api):
    assert _error(api("GET", "/domains/nope"), 404) == "Could not find domain: nope."
    _error(api("PATCH", "/domains/nope", json={"domain": {"enabled": False}}), 404)
    _error(api("DELETE", "/domains/nope"), 404)
    d = api.create("domain", name=_name("dup"))
    _error(api("PATCH", f"/domains/{d['id']}", json={"domain": {"name": "Default"}}), 409)
    _error(api("PATCH", f"/domains/{d['id']}", json={"domain": {}}), 400)
    api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204
