"""Roles through the CLI and raw HTTP: global and domain-specific roles, options, implied roles, errors."""

from __future__ import annotations

import uuid

import httpx
import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Api:
    """Raw HTTP to the identity API with one token."""

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

    def role_id(self, name: str) -> str:
        roles = self("GET", f"/roles?name={name}").json()["roles"]
        assert len(roles) == 1, roles
        return roles[0]["id"]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


def _password_token(cloud, user_id: str, password: str, project_id: str | None = None) -> str:
    auth: dict = {"identity": {"methods": ["password"],
                               "password": {"user": {"id": user_id, "password": password}}}}
    if project_id:
        auth["scope"] = {"project": {"id": project_id}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def test_role_cli_lifecycle(cloud):
    name = _name("role")
    r = cloud.osc("role", "create", "--description", "builds things", name)
    assert r["name"] == name and r["domain_id"] is None and r["description"] == "builds things"
    assert name in {row["Name"] for row in cloud.osc("role", "list")}
    shown = cloud.osc("role", "show", name)
    assert shown["id"] == r["id"] and shown["description"] == "builds things"
    dup = cloud.osc("role", "create", name, check=False, json_out=False)
    assert dup.returncode != 0 and "Duplicate entry found with name" in dup.stderr
    again = cloud.osc("role", "create", "--or-show", name)
    assert again["id"] == r["id"]
    cloud.osc("role", "delete", name, json_out=False)
    assert name not in {row["Name"] for row in cloud.osc("role", "list")}
    gone = cloud.osc("role", "show", name, check=False, json_out=False)
    assert gone.returncode != 0


def test_role_http_shape_and_update(api):
    r = api.create("role", name=_name("r"), colour="blue")
    assert r["domain_id"] is None and r["options"] == {} and r["colour"] == "blue"
    assert r["description"] is None and r["links"]["self"].endswith(f"/v3/roles/{r['id']}")
    got = api("GET", f"/roles/{r['id']}").json()["role"]
    assert got == r
    new_name = _name("renamed")
    resp = api("PATCH", f"/roles/{r['id']}", json={"role": {"name": new_name, "description": "d"}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["role"]["name"] == new_name and resp.json()["role"]["description"] == "d"
    other = api.create("role", name=_name("other"))
    msg = _error(api("PATCH", f"/roles/{other['id']}", json={"role": {"name": new_name}}), 409)
    assert msg == f"Conflict occurred attempting to store role - Duplicate entry found with name {new_name}."
    _error(api("PATCH", f"/roles/{r['id']}", json={"role": {}}), 400)
    _error(api("PATCH", f"/roles/{r['id']}", json={"role": {"domain_id": "default"}}), 400)
    _error(api("PATCH", f"/roles/{r['id']}", json={"role": {"id": "other"}}), 400)
    assert [x["id"] for x in api("GET", f"/roles?name={new_name}").json()["roles"]] == [r["id"]]
    for role in (r, other):
        assert api("DELETE", f"/roles/{role['id']}").status_code == 204
    _error(api("DELETE", f"/roles/{r['id']}"), 404)


def test_domain_specific_roles(api):
    d1, d2 = api.create("domain", name=_name("rd")), api.create("domain", name=_name("rd"))
    name = _name("dr")
    g = api.create("role", name=name)
    r1 = api.create("role", name=name, domain_id=d1["id"])  # same name: other domain, fine
    r2 = api.create("role", name=name, domain_id=d2["id"])
    assert r1["domain_id"] == d1["id"] and r2["domain_id"] == d2["id"]
    msg = _error(api("POST", "/roles", json={"role": {"name": name, "domain_id": d1["id"]}}), 409)
    assert msg == (f"Conflict occurred attempting to store role - Duplicate entry found with name {name} "
                   f"at domain ID {d1['id']}.")
    # Global listing shows global roles only; ?domain_id= shows that domain's.
    global_ids = {x["id"] for x in api("GET", "/roles").json()["roles"]}
    assert g["id"] in global_ids and r1["id"] not in global_ids
    assert [x["id"] for x in api("GET", f"/roles?domain_id={d1['id']}").json()["roles"]] == [r1["id"]]
    assert api("GET", f"/roles/{r1['id']}").json()["role"]["domain_id"] == d1["id"]
    _error(api("PATCH", f"/roles/{r1['id']}", json={"role": {"domain_id": d2["id"]}}), 400)
    assert _error(api("POST", "/roles", json={"role": {"name": name, "domain_id": "nope"}}), 404) \
        == "Could not find domain: nope."
    # A domain's deletion takes its roles along.
    api("PATCH", f"/domains/{d2['id']}", json={"domain": {"enabled": False}})
    assert api("DELETE", f"/domains/{d2['id']}").status_code == 204
    _error(api("GET", f"/roles/{r2['id']}"), 404)
    for role in (g, r1):
        assert api("DELETE", f"/roles/{role['id']}").status_code == 204


def test_immutable_role(cloud, api):
    name = _name("imm")
    r = cloud.osc("role", "create", "--immutable", name)
    role = api("GET", f"/roles/{r['id']}").json()["role"]
    assert role["options"] == {"immutable": True}
    msg = _error(api("PATCH", f"/roles/{r['id']}", json={"role": {"description": "x"}}), 403)
    assert "immutable" in msg
    assert "immutable" in _error(api("DELETE", f"/roles/{r['id']}"), 403)
    resp = api("PATCH", f"/roles/{r['id']}", json={"role": {"options": {"immutable": False}}})
    assert resp.status_code == 200 and resp.json()["role"]["options"] == {"immutable": False}
    assert api("DELETE", f"/roles/{r['id']}").status_code == 204
    _error(api("POST", "/roles", json={"role": {"name": _name("x"), "options": {"sticky": True}}}), 400)


def test_implied_roles(cloud, api):
    prior, implied = _name("prior"), _name("implied")
    p, i = api.create("role", name=prior), api.create("role", name=implied)
    out = cloud.osc("implied", "role", "create", prior, "--implied-role", implied)
    assert out == {"prior_role": p["id"], "implies": i["id"]}
    rows = cloud.osc("implied", "role", "list")
    assert {"Prior Role ID": p["id"], "Prior Role Name": prior, "Implied Role ID": i["id"],
            "Implied Role Name": implied} in rows
    rule = f"/roles/{p['id']}/implies/{i['id']}"
    body = api("GET", rule).json()
    assert body["role_inference"]["prior_role"] == {"id": p["id"], "name": prior, "links": p["links"]}
    assert body["role_inference"]["implies"] == {"id": i["id"], "name": implied, "links": i["links"]}
    assert body["links"]["self"].endswith(f"/v3{rule}")
    assert api("HEAD", rule).status_code == 204
    listed = api("GET", f"/roles/{p['id']}/implies").json()["role_inference"]
    assert [x["id"] for x in listed["implies"]] == [i["id"]]
    inferences = api("GET", "/role_inferences").json()["role_inferences"]
    mine = [x for x in inferences if x["prior_role"]["id"] == p["id"]]
    assert len(mine) == 1 and [x["id"] for x in mine[0]["implies"]] == [i["id"]]
    # Rules Keystone refuses.
    assert "Duplicate entry" in _error(api("PUT", rule), 409)
    assert _error(api("PUT", f"/roles/{p['id']}/implies/{api.role_id('admin')}"), 403) \
        == f"{api.role_id('admin')} cannot be an implied roles."
    assert "cycle" in _error(api("PUT", f"/roles/{i['id']}/implies/{p['id']}"), 403)
    d = api.create("domain", name=_name("imd"))
    dr = api.create("role", name=_name("dr"), domain_id=d["id"])
    assert _error(api("PUT", f"/roles/{p['id']}/implies/{dr['id']}"), 403) \
        == "Global role cannot imply a domain-specific role"
    assert api("PUT", f"/roles/{dr['id']}/implies/{p['id']}").status_code == 201  # the other way is fine
    assert _error(api("PUT", f"/roles/{p['id']}/implies/nope"), 404) == "Could not find role: nope."
    assert _error(api("GET", "/roles/nope/implies"), 404) == "Could not find role: nope."
    # Deleting the rule, then the prior role (which takes its remaining rules along).
    assert api("DELETE", rule).status_code == 204
    assert _error(api("GET", rule), 404) == f"{p['id']} does not imply {i['id']}."
    assert api("HEAD", rule).status_code == 404
    _error(api("DELETE", rule), 404)
    for role in (dr, p, i):
        assert api("DELETE", f"/roles/{role['id']}").status_code == 204
    rules = api("GET", "/role_inferences").json()["role_inferences"]
    assert all(x["prior_role"]["id"] != dr["id"] for x in rules)


@pytest.mark.parametrize("body,status,needle", [
    (b"{not json", 400, "Malformed JSON"),
    (b'{"role": {}}', 400, "'name' is a required property"),
    (b'{"role": {"name": ""}}', 400, "name"),
    (b'{"role": {"name": "' + b"x" * 256 + b'"}}', 400, "255"),
    (b'{"role": {"name": 5}}', 400, "name"),
    (b'{"role": "admin"}', 400, "role"),
    (b'{"roles": {"name": "x"}}', 400, "Expecting to find role"),
])
def test_role_create_errors(api, body, status, needle):
    r = api("POST", "/roles", content=body, headers={"content-type": "application/json"})
    assert needle in _error(r, status)


def test_role_unknown_ids(api):
    assert _error(api("GET", "/roles/nope"), 404) == "Could not find role: nope."
    _error(api("PATCH", "/roles/nope", json={"role": {"name": "x"}}), 404)
    _error(api("DELETE", "/roles/nope"), 404)


def test_role_delete_drops_assignments_and_token_roles(cloud, api):
    role = api.create("role", name=_name("gone"))
    project = api.create("project", name=_name("p"))
    user = api.create("user", name=_name("u"), password="pw-role-del-1")
    grant = f"/projects/{project['id']}/users/{user['id']}/roles/{role['id']}"
    assert api("PUT", grant).status_code == 204
    token = _password_token(cloud, user["id"], "pw-role-del-1", project["id"])
    check = {"X-Subject-Token": token}
    body = api("GET", "/auth/tokens", headers=check).json()["token"]
    assert [r["name"] for r in body["roles"]] == [role["name"]]
    assert api("DELETE", f"/roles/{role['id']}").status_code == 204
    # Its only role on the project is gone: the token no longer validates.
    assert api("GET", "/auth/tokens", headers=check).status_code == 404
    assert api("GET", f"/role_assignments?user.id={user['id']}").json()["role_assignments"] == []
    api("DELETE", f"/users/{user['id']}")
    api("DELETE", f"/projects/{project['id']}")


def test_reader_cannot_manage_roles(cloud, api):
    project = api.create("project", name=_name("rp"))
    user = api.create("user", name=_name("reader"), password="pw-reader-12")
    assert api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{api.role_id('reader')}"
               ).status_code == 204
    reader = Api(cloud, _password_token(cloud, user["id"], "pw-reader-12", project["id"]))
    _error(reader("POST", "/roles", json={"role": {"name": _name("nope")}}), 403)
    _error(reader("GET", "/roles"), 403)
    member = api.role_id("member")
    _error(reader("PATCH", f"/roles/{member}", json={"role": {"description": "x"}}), 403)
    _error(reader("DELETE", f"/roles/{member}"), 403)
    _error(reader("PUT", f"/roles/{member}/implies/{api.role_id('service')}"), 403)
    api("DELETE", f"/users/{user['id']}")
    api("DELETE", f"/projects/{project['id']}")
