"""Application credentials: the CLI end to end (create, authenticate, role subset), and the rules."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["title"] and err["message"]
    return err["message"]


class Api:
    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.token = token

    def __call__(self, method: str, path: str, token: str | None = None,
                 headers: dict | None = None, **kw) -> httpx.Response:
        headers = {"X-Auth-Token": token or self.token, **(headers or {})}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def create(self, kind: str, **body) -> dict:
        r = self("POST", f"/{kind}s", json={kind: body})
        assert r.status_code == 201, r.text
        return r.json()[kind]

    def role_id(self, name: str) -> str:
        return self("GET", f"/roles?name={name}").json()["roles"][0]["id"]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _password_token(cloud, user_id: str, password: str, project_id: str | None) -> str:
    body: dict = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": password}}}}}
    body["auth"]["scope"] = {"project": {"id": project_id}} if project_id else "unscoped"
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def _app_cred_token(cloud, **ref) -> httpx.Response:
    body = {"auth": {"identity": {"methods": ["application_credential"],
                                  "application_credential": ref}}}
    return httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)


@pytest.fixture(scope="module")
def member(api, cloud) -> dict:
    """A user with `member` (which implies `reader`) on a project of their own."""
    project = api.create("project", name=_name("acp"))
    password = "pw-" + uuid.uuid4().hex
    user = api.create("user", name=_name("acu"), password=password, default_project_id=project["id"])
    r = api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{api.role_id('member')}")
    assert r.status_code == 204, r.text
    token = _password_token(cloud, user["id"], password, project["id"])
    return {"user": user, "project": project, "password": password, "token": token}


def _user_env(cloud, member: dict) -> dict[str, str]:
    """A clean environment (no OS_CLOUD) that authenticates as the member by password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=cloud.auth_url, OS_IDENTITY_API_VERSION="3", OS_AUTH_TYPE="password",
               OS_USERNAME=member["user"]["name"], OS_PASSWORD=member["password"],
               OS_USER_DOMAIN_ID="default", OS_PROJECT_ID=member["project"]["id"])
    return env


def test_app_cred_cli_end_to_end(cloud, api, member):
    name = _name("ac")
    expires = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    created = cloud.osc("application", "credential", "create", "--role", "reader", "--description",
                        "monitoring", "--expiration", expires, name, env=_user_env(cloud, member))
    assert created["Name"] == name and created["Project ID"] == member["project"]["id"]
    assert [r["name"] for r in created["Roles"]] == ["reader"]
    assert created["Unrestricted"] is False and created["Secret"]
    assert created["Expires At"].startswith(expires)

    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=cloud.auth_url, OS_IDENTITY_API_VERSION="3",
               OS_AUTH_TYPE="v3applicationcredential",
               OS_APPLICATION_CREDENTIAL_ID=created["ID"],
               OS_APPLICATION_CREDENTIAL_SECRET=created["Secret"])
    token = cloud.osc("token", "issue", env=env)
    assert token["user_id"] == member["user"]["id"] and token["project_id"] == member["project"]["id"]

    # The token carries only the credential's roles: reader, not member.
    r = api("GET", "/auth/tokens", headers={"X-Subject-Token": token["id"]})
    assert r.status_code == 200, r.text
    body = r.json()["token"]
    assert [role["name"] for role in body["roles"]] == ["reader"]
    assert body["methods"] == ["application_credential"]
    assert body["application_credential"] == {"id": created["ID"], "name": name, "restricted": True}

    listed = cloud.osc("application", "credential", "list", env=_user_env(cloud, member))
    assert [row["ID"] for row in listed] == [created["ID"]]
    assert "Secret" not in listed[0]
    cloud.osc("application", "credential", "delete", name, env=_user_env(cloud, member), json_out=False)
    # Deleting the credential revokes the tokens made from it.
    _error(api("GET", "/auth/tokens", headers={"X-Subject-Token": token["id"]}), 404)
    assert _app_cred_token(cloud, id=created["ID"], secret=created["Secret"]).status_code == 401


def test_app_cred_rules(cloud, api, member):
    uid, tok = member["user"]["id"], member["token"]
    base = f"/users/{uid}/application_credentials"
    r = api("POST", base, token=tok, json={"application_credential": {"name": "all-roles"}})
    assert r.status_code == 201, r.text
    full = r.json()["application_credential"]
    # By default the credential gets every role of the token; a secret is generated (86 chars).
    assert sorted(role["name"] for role in full["roles"]) == ["member", "reader"]
    assert len(full["secret"]) == 86 and full["expires_at"] is None and full["access_rules"] == []
    assert full["links"]["self"].endswith(f"{base}/{full['id']}")

    # Never shown again; list filters by name.
    shown = api("GET", f"{base}/{full['id']}", token=tok).json()["application_credential"]
    assert "secret" not in shown and shown["id"] == full["id"]
    listed = api("GET", f"{base}?name=all-roles", token=tok).json()["application_credentials"]
    assert [c["id"] for c in listed] == [full["id"]] and "secret" not in listed[0]
    assert api("GET", f"{base}?name=nothing", token=tok).json()["application_credentials"] == []

    # Duplicates, unassigned or unknown roles, past expiry, access rules, other users: refused.
    assert "Duplicate" in _error(api("POST", base, token=tok, json={"application_credential": {
        "name": "all-roles"}}), 409)
    assert "unassigned role" in _error(api("POST", base, token=tok, json={"application_credential": {
        "name": _name("x"), "roles": [{"name": "admin"}]}}), 400)
    _error(api("POST", base, token=tok, json={"application_credential": {
        "name": _name("x"), "roles": [{"name": "no-such-role"}]}}), 404)
    _error(api("POST", base, token=tok, json={"application_credential": {
        "name": _name("x"), "expires_at": "2001-01-01T00:00:00Z"}}), 400)
    _error(api("POST", base, token=tok, json={"application_credential": {
        "name": _name("x"), "expires_at": "tomorrow"}}), 400)
    for bad in ({"path": "v2.1/servers", "method": "GET", "service": "compute"},
                {"path": "/v2.1/servers", "method": "FETCH", "service": "compute"},
                {"path": "/v2.1/servers", "method": "GET", "service": "com pute"},
                {"path": "/v2.1/servers", "method": "GET", "service": "compute", "x": 1}):
        assert "access_rules" in _error(api("POST", base, token=tok, json={"application_credential": {
            "name": _name("x"), "access_rules": [bad]}}), 400)
    _error(api("POST", base, token=tok, json={"application_credential": {"name": ""}}), 400)
    _error(api("POST", base, json={"application_credential": {"name": _name("x")}}), 403)  # admin
    unscoped = _password_token(cloud, uid, member["password"], None)
    assert "project-scoped" in _error(api("POST", base, token=unscoped, json={
        "application_credential": {"name": _name("x")}}), 400)
    # An administrator may read and delete them, another user may not.
    assert api("GET", base).status_code == 200
    other = api.create("user", name=_name("other"), password="pw-other-1")
    _error(api("GET", f"/users/{other['id']}/application_credentials", token=tok), 403)
    _error(api("GET", f"/users/{uid}/application_credentials/{uuid.uuid4().hex}", token=tok), 404)

    # A restricted credential's token cannot manage application credentials.
    r = api("POST", base, token=tok, json={"application_credential": {
        "name": _name("restricted"), "secret": "s3cret-given", "roles": [{"name": "reader"}]}})
    assert r.status_code == 201 and r.json()["application_credential"]["secret"] == "s3cret-given"
    restricted = r.json()["application_credential"]
    by_name = _app_cred_token(cloud, name=restricted["name"], secret="s3cret-given",
                              user={"name": member["user"]["name"], "domain": {"id": "default"}})
    assert by_name.status_code == 201, by_name.text
    rtok = by_name.headers["x-subject-token"]
    assert [role["name"] for role in by_name.json()["token"]["roles"]] == ["reader"]
    assert "not allowed" in _error(api("POST", base, token=rtok, json={"application_credential": {
        "name": _name("x")}}), 403)
    _error(api("DELETE", f"{base}/{full['id']}", token=rtok), 403)

    # An unrestricted one can, and delegates no more than it holds.
    r = api("POST", base, token=tok, json={"application_credential": {
        "name": _name("unrestricted"), "unrestricted": True, "roles": [{"name": "reader"}]}})
    unrestricted = r.json()["application_credential"]
    assert unrestricted["unrestricted"] is True
    utok = _app_cred_token(cloud, id=unrestricted["id"], secret=unrestricted["secret"])
    utok = utok.headers["x-subject-token"]
    _error(api("POST", base, token=utok, json={"application_credential": {
        "name": _name("x"), "roles": [{"name": "member"}]}}), 400)
    r = api("POST", base, token=utok, json={"application_credential": {"name": _name("child")}})
    assert r.status_code == 201, r.text
    assert [role["name"] for role in r.json()["application_credential"]["roles"]] == ["reader"]

    # Wrong secret: 401. Deleting: 204, then 404.
    assert _app_cred_token(cloud, id=full["id"], secret="wrong").status_code == 401
    assert api("DELETE", f"{base}/{full['id']}", token=tok).status_code == 204
    _error(api("DELETE", f"{base}/{full['id']}", token=tok), 404)
    assert api("DELETE", f"{base}/{restricted['id']}").status_code == 204  # by an administrator
    r = api("GET", "/auth/tokens", headers={"X-Subject-Token": rtok})
    assert r.status_code == 404, r.text
