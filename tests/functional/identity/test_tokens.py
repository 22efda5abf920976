"""Tokens through the real clients and raw HTTP: issue, validate, revoke, scopes, errors."""

from __future__ import annotations

import httpx
import pytest


def _password_auth(name: str, password: str, scope: dict | None = None) -> dict:
    auth = {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"id": "default"}, "password": password}}}}
    if scope is not None:
        auth["scope"] = scope
    return {"auth": auth}


def test_version_discovery(cloud):
    r = httpx.get(cloud.url("identity", "/"))
    assert r.status_code == 300
    assert r.json()["versions"]["values"][0]["id"].startswith("v3")
    r = httpx.get(cloud.url("identity", "/v3"))
    assert r.status_code == 200
    assert r.json()["version"]["status"] == "stable"


def test_token_issue_cli(cloud):
    tok = cloud.osc("token", "issue")
    assert tok["id"] and tok["project_id"] and tok["user_id"]


def test_validate_and_revoke(cloud, admin_token):
    r = httpx.post(f"{cloud.auth_url}/auth/tokens",
                   json=_password_auth("admin", cloud.admin_password, {"project": {
                       "name": "admin", "domain": {"name": "Default"}}}))
    assert r.status_code == 201, r.text
    subject = r.headers["x-subject-token"]
    body = r.json()["token"]
    assert {role["name"] for role in body["roles"]} >= {"admin", "member", "reader"}
    assert any(s["type"] == "identity" for s in body["catalog"])
    h = {"X-Auth-Token": admin_token, "X-Subject-Token": subject}
    assert httpx.get(f"{cloud.auth_url}/auth/tokens", headers=h).status_code == 200
    assert httpx.head(f"{cloud.auth_url}/auth/tokens", headers=h).status_code == 200
    assert httpx.delete(f"{cloud.auth_url}/auth/tokens", headers=h).status_code == 204
    r = httpx.get(f"{cloud.auth_url}/auth/tokens", headers=h)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == 404
    # The revoked token cannot authenticate a request either.
    r = httpx.get(f"{cloud.auth_url}/auth/projects", headers={"X-Auth-Token": subject})
    assert r.status_code == 401
    assert "www-authenticate" in r.headers


def test_token_revoke_cli(cloud):
    tok = cloud.osc("token", "issue")
    cloud.osc("token", "revoke", tok["id"], json_out=False)
    res = cloud.osc("token", "revoke", tok["id"], check=False, json_out=False)
    assert res.returncode != 0


@pytest.mark.parametrize("body,status", [
    (b"{not json", 400),
    (b'{"auth": {}}', 400),
    (b'{"auth": {"identity": {"methods": ["password"]}}}', 400),
    (b'{"auth": {"identity": {"methods": ["kerberos"], "kerberos": {}}}}', 401),
])
def test_bad_auth_requests(cloud, body, status):
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", content=body,
                   headers={"content-type": "application/json"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["message"] and err["title"]


def test_wrong_password_and_garbage_token(cloud):
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=_password_auth("admin", "wrong"))
    assert r.status_code == 401
    assert r.json()["error"]["title"] == "Unauthorized"
    r = httpx.get(f"{cloud.auth_url}/auth/projects", headers={"X-Auth-Token": "garbage"})
    assert r.status_code == 401


def test_oversized_body(cloud):
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", content=b"{" + b" " * 200_000 + b"}",
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == 413


def test_scopes(cloud):
    pw = cloud.admin_password
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=_password_auth("admin", pw, "unscoped"))
    assert r.status_code == 201
    assert "roles" not in r.json()["token"] and "project" not in r.json()["token"]
    unscoped = r.headers["x-subject-token"]
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=_password_auth("admin", pw, {"system": {"all": True}}))
    assert r.status_code == 201 and r.json()["token"]["system"] == {"all": True}
    # rescope the unscoped token to the admin project with the token method
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
    assert r.status_code == 201, r.text
    t = r.json()["token"]
    assert sorted(t["methods"]) == ["password", "token"]  # Keystone merges them as a set
    assert t["project"]["name"] == "admin"
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=_password_auth("admin", pw, {"domain": {"id": "default"}}))
    # admin has no role on the default domain itself
    assert r.status_code == 401


def test_auth_discovery(cloud, admin_token):
    h = {"X-Auth-Token": admin_token}
    projects = httpx.get(f"{cloud.auth_url}/auth/projects", headers=h).json()["projects"]
    assert "admin" in {p["name"] for p in projects}
    assert httpx.get(f"{cloud.auth_url}/auth/system", headers=h).json()["system"] == [{"all": True}]
    assert httpx.get(f"{cloud.auth_url}/auth/domains", headers=h).status_code == 200
    cat = httpx.get(f"{cloud.auth_url}/auth/catalog", headers=h).json()["catalog"]
    assert any(s["type"] == "identity" for s in cat)


def test_healthcheck_and_metrics(cloud):
    assert httpx.get(cloud.url("identity", "/healthcheck")).text == "OK"
    m = httpx.get(cloud.url("identity", "/metrics")).text
    assert "nubes_http_requests_total" in m
