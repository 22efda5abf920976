"""Application credential access rules: created through the CLI, enforced by every service's token
middleware (keystonemiddleware's 401), and managed under /v3/users/{id}/access_rules."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.cloud import new_user


def _error(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, r.text


def _app_cred_token(cloud, cred: dict) -> str:
    body = {"auth": {"identity": {"methods": ["application_credential"], "application_credential": {
        "id": cred["id"], "secret": cred["secret"]}}}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return r.headers["x-subject-token"]


def _get(cloud, service: str, path: str, token: str, method: str = "GET", **kw) -> httpx.Response:
    return httpx.request(method, cloud.url(service, path), headers={"X-Auth-Token": token},
                         timeout=30, **kw)


@pytest.fixture(scope="module")
def member(cloud, tmp_path_factory):
    return new_user(cloud, tmp_path_factory.mktemp("access-rules"))


def test_credential_limited_to_listing_servers(cloud, member):
    rules = [{"service": "compute", "method": "GET", "path": "/v2.1/servers"}]
    name = f"ar-{uuid.uuid4().hex[:8]}"
    out = member.osc("application", "credential", "create", "--access-rules", json.dumps(rules), name)
    cred = {"id": out["ID"], "secret": out["Secret"]}
    assert [{k: r[k] for k in ("service", "method", "path")} for r in out["Access Rules"]] == rules
    token = _app_cred_token(cloud, cred)

    # The validation response carries the rules; a token can always validate itself.
    r = httpx.get(f"{cloud.auth_url}/auth/tokens", headers={"X-Auth-Token": token,
                                                             "X-Subject-Token": token}, timeout=30)
    assert r.status_code == 200, r.text
    carried = r.json()["token"]["application_credential"]["access_rules"]
    assert [{k: x[k] for k in ("service", "method", "path")} for x in carried] == rules

    assert _get(cloud, "compute", "/v2.1/servers", token).status_code == 200
    _error(_get(cloud, "compute", "/v2.1/servers/detail", token), 401)
    _error(_get(cloud, "compute", "/v2.1/servers", token, "POST", json={"server": {}}), 401)
    _error(_get(cloud, "compute", "/v2.1/flavors", token), 401)
    _error(_get(cloud, "network", "/v2.0/networks", token), 401)
    _error(_get(cloud, "image", "/v2/images", token), 401)
    _error(_get(cloud, "placement", "/resource_providers", token), 401)
    _error(_get(cloud, "identity", "/v3/auth/projects", token), 401)
    # The body keystonemiddleware gives a refused token.
    assert _get(cloud, "network", "/v2.0/networks", token).json()["error"]["code"] == 401
    assert _get(cloud, "identity", "/v3/users", token).json()["error"]["code"] == 401

    # The same credential without rules may do all of it.
    free = member.osc("application", "credential", "create", f"free-{uuid.uuid4().hex[:8]}")
    free_token = _app_cred_token(cloud, {"id": free["ID"], "secret": free["Secret"]})
    assert "access_rules" not in httpx.get(
        f"{cloud.auth_url}/auth/tokens", headers={"X-Auth-Token": free_token,
                                                  "X-Subject-Token": free_token},
        timeout=30).json()["token"]["application_credential"]
    assert _get(cloud, "network", "/v2.0/networks", free_token).status_code == 200
    assert _get(cloud, "compute", "/v2.1/flavors", free_token).status_code == 200


WILDCARDS = [
    pytest.param("/v2.1/servers/*", "/v2.1/servers/detail", 200, id="star-one-segment"),
    pytest.param("/v2.1/servers/*", "/v2.1/servers", 401, id="star-needs-a-segment"),
    pytest.param("/v2.1/servers/*", "/v2.1/servers/x/ips", 401, id="star-not-two-segments"),
    pytest.param("/v2.1/**", "/v2.1/flavors/detail", 200, id="double-star-any-depth"),
    pytest.param("/v2.1/{anything}", "/v2.1/flavors", 200, id="placeholder-one-segment"),
]


@pytest.mark.parametrize(("pattern", "path", "status"), WILDCARDS)
def test_access_rule_wildcards(cloud, member, pattern, path, status):
    rules = [{"service": "compute", "method": "GET", "path": pattern}]
    base = f"/v3/users/{member.user_id}/application_credentials"
    r = _get(cloud, "identity", base, member.token, "POST", json={"application_credential": {
        "name": f"w-{uuid.uuid4().hex[:8]}", "access_rules": rules}})
    assert r.status_code == 201, r.text
    token = _app_cred_token(cloud, r.json()["application_credential"])
    got = _get(cloud, "compute", path, token)
    assert got.status_code == status, got.text


def test_access_rules_api(cloud, member, tmp_path):
    base = f"/v3/users/{member.user_id}"
    rule = {"service": "image", "method": "GET", "path": "/v2/images"}

    def create(**body):
        r = _get(cloud, "identity", f"{base}/application_credentials", member.token, "POST",
                 json={"application_credential": {"name": f"a-{uuid.uuid4().hex[:8]}", **body}})
        assert r.status_code == 201, r.text
        return r.json()["application_credential"]

    first = create(access_rules=[rule])
    rule_id = first["access_rules"][0]["id"]
    # The same rule again, or its id, is the same rule.
    assert create(access_rules=[rule])["access_rules"][0]["id"] == rule_id
    second = create(access_rules=[{"id": rule_id}])
    assert second["access_rules"] == [{"id": rule_id, **rule}]
    _error(_get(cloud, "identity", f"{base}/application_credentials", member.token, "POST",
                json={"application_credential": {"name": "x", "access_rules": [{"id": "nope"}]}}), 404)

    listed = _get(cloud, "identity", f"{base}/access_rules", member.token)
    assert listed.status_code == 200
    mine = {r["id"]: r for r in listed.json()["access_rules"]}
    assert mine[rule_id]["links"]["self"].endswith(f"/v3/users/{member.user_id}/access_rules/{rule_id}")
    filtered = _get(cloud, "identity", f"{base}/access_rules?service=image", member.token)
    assert {r["id"] for r in filtered.json()["access_rules"]} == {rule_id}
    shown = _get(cloud, "identity", f"{base}/access_rules/{rule_id}", member.token)
    assert shown.status_code == 200 and shown.json()["access_rule"]["path"] == "/v2/images"

    # Another user sees none of it.
    other = new_user(cloud, tmp_path)
    _error(_get(cloud, "identity", f"{base}/access_rules", other.token), 403)
    _error(_get(cloud, "identity", f"/v3/users/{other.user_id}/access_rules/{rule_id}", other.token), 404)

    # In use: refused; once no credential names it, it goes.
    _error(_get(cloud, "identity", f"{base}/access_rules/{rule_id}", member.token, "DELETE"), 403)
    creds = _get(cloud, "identity", f"{base}/application_credentials", member.token).json()
    for c in creds["application_credentials"]:
        if any(r["id"] == rule_id for r in c["access_rules"]):
            assert _get(cloud, "identity", f"{base}/application_credentials/{c['id']}", member.token,
                        "DELETE").status_code == 204
    assert _get(cloud, "identity", f"{base}/access_rules/{rule_id}", member.token,
                "DELETE").status_code == 204
    _error(_get(cloud, "identity", f"{base}/access_rules/{rule_id}", member.token), 404)
