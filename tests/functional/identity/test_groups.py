"""Groups through the CLI and raw HTTP: CRUD, membership, revocation on removal, errors."""

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


def test_group_cli_membership(cloud, api):
    group = _name("g")
    g = cloud.osc("group", "create", "--description", "team", group)
    assert g["name"] == group and g["domain_id"] == "default" and g["description"] == "team"
    u = api.create("user", name=_name("u"))
    cloud.osc("group", "add", "user", group, u["name"], json_out=False)
    out = cloud.osc("group", "contains", "user", group, u["name"], json_out=False)
    assert f"{u['name']} in group {group}" in out
    cloud.osc("group", "remove", "user", group, u["name"], json_out=False)
    assert api("GET", f"/groups/{g['id']}/users").json()["users"] == []
    cloud.osc("group", "delete", group, json_out=False)
    _error(api("GET", f"/groups/{g['id']}"), 404)
    api("DELETE", f"/users/{u['id']}")


def test_group_membership_http(cloud, api):
    g = api.create("group", name=_name("g"), color="green")
    assert g["color"] == "green"
    u = api.create("user", name=_name("u"), password="pw-member-1")
    member = f"/groups/{g['id']}/users/{u['id']}"
    msg = _error(api("GET", member), 404)
    assert msg == f"User '{u['id']}' not found in group '{g['id']}'"
    assert api("HEAD", member).status_code == 404
    assert api("PUT", member).status_code == 204
    assert api("PUT", member).status_code == 204  # idempotent
    assert api("HEAD", member).status_code == 204
    assert api("GET", member).status_code == 204
    users = api("GET", f"/groups/{g['id']}/users").json()["users"]
    assert [x["id"] for x in users] == [u["id"]] and "password_expires_at" in users[0]
    assert api("GET", f"/groups/{g['id']}/users?name=nobody").json()["users"] == []
    groups = api("GET", f"/users/{u['id']}/groups").json()["groups"]
    assert [x["id"] for x in groups] == [g["id"]] and groups[0]["membership_expires_at"] is None
    # Removing a member revokes the member's tokens.
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": u["id"], "password": "pw-member-1"}}}}})
    token = r.headers["x-subject-token"]
    assert api("GET", "/auth/tokens", headers={"X-Subject-Token": token}).status_code == 200
    assert api("DELETE", member).status_code == 204
    assert api("GET", "/auth/tokens", headers={"X-Subject-Token": token}).status_code == 404
    _error(api("DELETE", member), 404)
    _error(api("PUT", f"/groups/{g['id']}/users/nope"), 404)
    _error(api("PUT", f"/groups/nope/users/{u['id']}"), 404)
    # Deleting a user removes its memberships.
    assert api("PUT", member).status_code == 204
    assert api("DELETE", f"/users/{u['id']}").status_code == 204
    assert api("GET", f"/groups/{g['id']}/users").json()["users"] == []
    assert api("DELETE", f"/groups/{g['id']}").status_code == 204
    _error(api("GET", f"/groups/{g['id']}"), 404)


def test_group_crud_and_filters(api):
    d = api.create("domain", name=_name("gd"))
    g1 = api.create("group", name=_name("g"))
    g2 = api.create("group", name=g1["name"], domain_id=d["id"])  # same name, other domain
    assert g2["domain_id"] == d["id"]
    msg = _error(api("POST", "/groups", json={"group": {"name": g1["name"]}}), 409)
    assert msg == ("Conflict occurred attempting to store group - Duplicate entry found with name "
                   f"{g1['name']} at domain ID default.")
    assert [x["id"] for x in api("GET", f"/groups?domain_id={d['id']}").json()["groups"]] == [g2["id"]]
    named = {x["id"] for x in api("GET", f"/groups?name={g1['name']}").json()["groups"]}
    assert named == {g1["id"], g2["id"]}
    r = api("PATCH", f"/groups/{g1['id']}", json={"group": {"description": "new", "name": g1["name"] + "x"}})
    assert r.status_code == 200 and r.json()["group"]["description"] == "new"
    assert api("GET", f"/groups/{g1['id']}").json()["group"]["name"] == g1["name"] + "x"
    _error(api("PATCH", f"/groups/{g1['id']}", json={"group": {"domain_id": d["id"]}}), 400)
    _error(api("PATCH", f"/groups/{g1['id']}", json={"group": {}}), 400)
    assert api("DELETE", f"/groups/{g1['id']}").status_code == 204
    api("PATCH", f"/domains/{d['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{d['id']}").status_code == 204
    _error(api("GET", f"/groups/{g2['id']}"), 404)


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "Malformed JSON"),
    (b'{"group": {}}', 400, "'name' is a required property"),
    (b'{"group": {"name": "g", "domain_id": "nope"}}', 404, "Could not find domain: nope"),
    (b'{"group": {"name": "' + b"x" * 65 + b'"}}', 400, "name"),
])
def test_group_create_errors(api, body, status, needle):
    r = api("POST", "/groups", content=body, headers={"content-type": "application/json"})
    assert needle in _error(r, status)


def test_group_unknown_ids(api):
    assert _error(api("GET", "/groups/nope"), 404) == "Could not find group: nope."
    _error(api("GET", "/groups/nope/users"), 404)
    _error(api("DELETE", "/groups/nope"), 404)
    _error(api("GET", "/users/nope/groups"), 404)
