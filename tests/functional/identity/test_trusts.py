"""OS-TRUST: trusts through the CLI and openstacksdk, trust-scoped tokens through keystoneauth and
plain HTTP, and the ways such a token ends (trust deleted, role removed, user disabled)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.cloud import new_user


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == status and err["message"]
    return err["message"]


class Api:
    def __init__(self, cloud, token: str) -> None:
        self.url = cloud.auth_url
        self.token = token

    def __call__(self, method: str, path: str, token: str | None = None, **kw) -> httpx.Response:
        return httpx.request(method, self.url + path, headers={"X-Auth-Token": token or self.token},
                             timeout=30, **kw)

    def role_id(self, name: str) -> str:
        return self("GET", f"/roles?name={name}").json()["roles"][0]["id"]


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


def _token(cloud, user_id: str, password: str, scope) -> httpx.Response:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user_id, "password": password}}}, "scope": scope}}
    return httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)


def _trust_token(cloud, user, trust_id: str) -> httpx.Response:
    return _token(cloud, user.user_id, user.password, {"OS-TRUST:trust": {"id": trust_id}})


def _validate(api: Api, token: str) -> httpx.Response:
    return httpx.get(f"{api.url}/auth/tokens", headers={"X-Auth-Token": api.token,
                                                        "X-Subject-Token": token}, timeout=30)


def _create(api: Api, trustor, trustee, token: str | None = None, **body) -> httpx.Response:
    trust = {"trustor_user_id": trustor.user_id, "trustee_user_id": trustee.user_id,
             "impersonation": False, "project_id": trustor.project_id,
             "roles": [{"name": "member"}], **body}
    return api("POST", "/OS-TRUST/trusts", token=token or trustor.token, json={"trust": trust})


@pytest.fixture
def pair(cloud, tmp_path):
    """A trustor (member of a project) and a trustee (member of another)."""
    return new_user(cloud, tmp_path), new_user(cloud, tmp_path)


def test_trust_cli_and_sdk(cloud, api, pair, tmp_path):
    trustor, trustee = pair
    member = api.role_id("member")
    until = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")
    created = trustor.osc("trust", "create", "--project", trustor.project_id, "--role", member,
                          "--impersonate", "--expiration", until, trustor.user_id, trustee.user_id)
    assert created["expires_at"].startswith(until)
    assert created["trustor_user_id"] == trustor.user_id
    assert created["trustee_user_id"] == trustee.user_id
    assert created["project_id"] == trustor.project_id and created["is_impersonation"] is True
    assert "member" in str(created["roles"])
    shown = trustor.osc("trust", "show", created["id"])
    assert shown["id"] == created["id"] and shown["redelegation_count"] == 0
    assert trustee.osc("trust", "show", created["id"])["id"] == created["id"]
    mine = {t["ID"] for t in trustor.osc("trust", "list", "--auth-user")}
    assert created["id"] in mine
    theirs = {t["ID"] for t in trustee.osc("trust", "list", "--trustee", trustee.user_id)}
    assert created["id"] in theirs
    # Listing every trust is an administrator's call.
    assert created["id"] in {t["ID"] for t in cloud.osc("trust", "list")}
    refused = trustee.osc("trust", "list", check=False, json_out=False)
    assert refused.returncode != 0 and "403" in refused.stderr

    # The trustee authenticates with the trust through keystoneauth (what Heat does).
    auth = v3.Password(auth_url=cloud.auth_url, user_id=trustee.user_id, password=trustee.password,
                       trust_id=created["id"])
    sess = ks_session.Session(auth=auth)
    access = auth.get_access(sess)
    assert access.trust_id == created["id"] and access.trust_scoped
    assert access.trustor_user_id == trustor.user_id and access.trustee_user_id == trustee.user_id
    assert access.user_id == trustor.user_id          # impersonation: the token is the trustor's
    assert access.project_id == trustor.project_id
    assert set(access.role_names) == {"member", "reader"}
    r = httpx.get(f"{cloud.auth_url}/auth/projects", headers={"X-Auth-Token": access.auth_token},
                  timeout=30)
    assert r.status_code == 200

    # openstacksdk sees the same trust, and deletes it; its tokens end with it.
    import openstack

    conn = openstack.connect(auth_url=cloud.auth_url, username=trustor.name, password=trustor.password,
                             project_id=trustor.project_id, user_domain_id="default")
    try:
        trust = conn.identity.get_trust(created["id"])
        assert trust.trustee_user_id == trustee.user_id and trust.is_impersonation
        assert created["id"] in {t.id for t in conn.identity.trusts(trustor_user_id=trustor.user_id)}
        conn.identity.delete_trust(created["id"])
    finally:
        conn.close()
    assert _validate(api, access.auth_token).status_code == 404
    assert trustor.osc("trust", "show", created["id"], check=False, json_out=False).returncode != 0
    assert api("GET", f"/OS-TRUST/trusts/{created['id']}").status_code == 404
    # ... and so does the CLI.
    again = trustor.osc("trust", "create", "--project", trustor.project_id, "--role", member,
                        trustor.user_id, trustee.user_id)
    assert again["is_impersonation"] is False
    trustor.osc("trust", "delete", again["id"], json_out=False)
    assert api("GET", f"/OS-TRUST/trusts/{again['id']}").status_code == 404


def test_trust_scoped_token_body(cloud, api, pair):
    trustor, trustee = pair
    r = _create(api, trustor, trustee)
    assert r.status_code == 201, r.text
    trust = r.json()["trust"]
    assert trust["impersonation"] is False and trust["remaining_uses"] is None
    assert trust["expires_at"] is None and trust["redelegated_trust_id"] is None
    assert [x["name"] for x in trust["roles"]] == ["member"]
    assert trust["roles_links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}/roles")
    assert trust["links"]["self"].endswith(f"/v3/OS-TRUST/trusts/{trust['id']}")

    r = _trust_token(cloud, trustee, trust["id"])
    assert r.status_code == 201, r.text
    body = r.json()["token"]
    assert body["OS-TRUST:trust"] == {"id": trust["id"], "impersonation": False,
                                      "trustee_user": {"id": trustee.user_id},
                                      "trustor_user": {"id": trustor.user_id}}
    assert body["user"]["id"] == trustee.user_id           # no impersonation: the trustee
    assert body["project"]["id"] == trustor.project_id
    assert {x["name"] for x in body["roles"]} == {"member", "reader"}
    assert body["catalog"]
    token = r.headers["x-subject-token"]
    validated = _validate(api, token)
    assert validated.status_code == 200 and validated.json()["token"]["OS-TRUST:trust"]["id"] == trust["id"]

    # The token method gives a trust-scoped token too, from the trustee's own token ...
    unscoped = _token(cloud, trustee.user_id, trustee.password, "unscoped").headers["x-subject-token"]
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", timeout=30, json={"auth": {
        "identity": {"methods": ["token"], "token": {"id": unscoped}},
        "scope": {"OS-TRUST:trust": {"id": trust["id"]}}}})
    assert r.status_code == 201, r.text
    assert set(r.json()["token"]["methods"]) == {"token", "password"}
    # ... but a trust-scoped token is never rescoped, nor re-issued.
    for scope in ({"project": {"id": trustor.project_id}}, None):
        body = {"auth": {"identity": {"methods": ["token"], "token": {"id": token}}}}
        if scope:
            body["auth"]["scope"] = scope
        _error(httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30), 403)
    # A trust-scoped token mints no credentials that would outlive the trust.
    me = trustee.user_id
    r = api("POST", f"/users/{me}/application_credentials", token=token,
            json={"application_credential": {"name": "from-trust"}})
    assert "trust-scoped" in _error(r, 403)
    r = api("POST", f"/users/{me}/credentials/OS-EC2", token=token,
            json={"tenant_id": trustor.project_id})
    assert "trust-scoped" in _error(r, 403)
    # Only the trustee may use the trust; an unknown one is a 404.
    _error(_trust_token(cloud, trustor, trust["id"]), 403)
    _error(_trust_token(cloud, trustee, uuid.uuid4().hex), 404)

    # Roles of the trust: list, show, check; the policy lets trustor and trustee read it.
    member = api.role_id("member")
    roles = api("GET", f"/OS-TRUST/trusts/{trust['id']}/roles", token=trustee.token)
    assert roles.status_code == 200 and [x["id"] for x in roles.json()["roles"]] == [member]
    r = api("GET", f"/OS-TRUST/trusts/{trust['id']}/roles/{member}", token=trustor.token)
    assert r.status_code == 200 and r.json()["role"]["name"] == "member"
    assert api("HEAD", f"/OS-TRUST/trusts/{trust['id']}/roles/{member}", token=trustor.token).status_code == 200
    _error(api("GET", f"/OS-TRUST/trusts/{trust['id']}/roles/{api.role_id('admin')}",
               token=trustor.token), 404)


def test_trust_create_rules(cloud, api, pair, tmp_path):
    trustor, trustee = pair
    # The caller must be the trustor; the roles must be the trustor's on the project.
    assert "create_trust" in _error(_create(api, trustee, trustor, token=trustor.token), 403)
    _error(_create(api, trustor, trustee, roles=[{"name": "admin"}]), 404)
    _error(_create(api, trustor, trustee, roles=[{"id": uuid.uuid4().hex}]), 404)
    _error(_create(api, trustor, trustee, roles=[]), 403)
    _error(_create(api, trustor, trustee, trustee_user_id=uuid.uuid4().hex), 404)
    # Keystone's schema.
    _error(_create(api, trustor, trustee, impersonation="True"), 400)
    _error(_create(api, trustor, trustee, remaining_uses=0), 400)
    _error(_create(api, trustor, trustee, expires_at="yesterday"), 400)
    _error(_create(api, trustor, trustee, allow_redelegation=True, remaining_uses=2), 400)
    _error(_create(api, trustor, trustee, allow_redelegation=True, redelegation_count=4), 403)
    r = api("POST", "/OS-TRUST/trusts", token=trustor.token, json={"trust": {
        "trustor_user_id": trustor.user_id, "trustee_user_id": trustee.user_id}})
    assert "impersonation" in _error(r, 400)
    # Odd values are a 4xx, never a 500.
    for odd, status in (({"roles": [{"id": "é" * 70}]}, 404), ({"roles": [{"id": 5}]}, 400),
                        ({"roles": "member"}, 400), ({"project_id": "x" * 64}, 404),
                        ({"project_id": "x" * 65}, 400), ({"trustee_user_id": "é"}, 404),
                        ({"redelegation_count": 2**40, "allow_redelegation": True}, 400),
                        ({"remaining_uses": True}, 400), ({"expires_at": 5}, 400),
                        ({"allow_redelegation": "yes"}, 400)):
        _error(_create(api, trustor, trustee, **odd), status)
    far = _create(api, trustor, trustee, expires_at="9999-12-31T23:59:59Z", color="blue")
    assert far.status_code == 201, far.text
    assert far.json()["trust"]["color"] == "blue"       # extra attributes are kept, as Keystone
    token = _trust_token(cloud, trustee, far.json()["trust"]["id"])
    assert token.status_code == 201 and token.json()["token"]["expires_at"] < "9999"
    # Who may see what: strangers get 403, a missing trust is 404 for everyone.
    stranger = new_user(cloud, tmp_path)
    trust = _create(api, trustor, trustee).json()["trust"]
    _error(api("GET", f"/OS-TRUST/trusts/{trust['id']}", token=stranger.token), 403)
    _error(api("GET", f"/OS-TRUST/trusts?trustor_user_id={trustor.user_id}", token=stranger.token), 403)
    _error(api("DELETE", f"/OS-TRUST/trusts/{trust['id']}", token=trustee.token), 403)
    _error(api("GET", f"/OS-TRUST/trusts/{uuid.uuid4().hex}", token=trustor.token), 404)
    listed = api("GET", f"/OS-TRUST/trusts?trustor_user_id={trustor.user_id}", token=trustor.token)
    assert {t["id"] for t in listed.json()["trusts"]} == {far.json()["trust"]["id"], trust["id"]}
    assert "roles" not in listed.json()["trusts"][0]
    assert api("HEAD", f"/OS-TRUST/trusts/{trust['id']}", token=trustee.token).status_code == 200
    assert api("DELETE", f"/OS-TRUST/trusts/{trust['id']}", token=trustor.token).status_code == 204


def test_remaining_uses_and_expiry(cloud, api, pair):
    trustor, trustee = pair
    trust = _create(api, trustor, trustee, remaining_uses=2).json()["trust"]
    assert trust["remaining_uses"] == 2
    first = _trust_token(cloud, trustee, trust["id"])
    assert first.status_code == 201, first.text
    assert api("GET", f"/OS-TRUST/trusts/{trust['id']}").json()["trust"]["remaining_uses"] == 1
    assert _trust_token(cloud, trustee, trust["id"]).status_code == 201
    # Used up: no more tokens, the trust is 404 as in Keystone; the tokens issued still work.
    _error(_trust_token(cloud, trustee, trust["id"]), 404)
    _error(api("GET", f"/OS-TRUST/trusts/{trust['id']}"), 404)
    assert _validate(api, first.headers["x-subject-token"]).status_code == 200
    # Lists still show it, as Keystone's do (remaining_uses 0).
    listed = api("GET", f"/OS-TRUST/trusts?trustor_user_id={trustor.user_id}", token=trustor.token)
    assert {t["id"]: t["remaining_uses"] for t in listed.json()["trusts"]}[trust["id"]] == 0

    soon = (datetime.now(UTC) + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    trust = _create(api, trustor, trustee, expires_at=soon).json()["trust"]
    assert trust["expires_at"] == soon
    token = _trust_token(cloud, trustee, trust["id"]).json()["token"]
    # A token never outlives its trust.
    assert token["expires_at"] <= soon


def test_redelegation_depth(cloud, api, tmp_path):
    a, b, c, d = (new_user(cloud, tmp_path) for _ in range(4))
    first = _create(api, a, b, allow_redelegation=True, redelegation_count=2).json()["trust"]
    assert first["redelegation_count"] == 2 and first["allow_redelegation"] is True
    tok_b = _trust_token(cloud, b, first["id"]).headers["x-subject-token"]
    # b redelegates a's project to c: the trust is b's, its depth one less, its roles a subset.
    second = _create(api, b, c, token=tok_b, project_id=a.project_id, allow_redelegation=True)
    assert second.status_code == 201, second.text
    second = second.json()["trust"]
    assert second["redelegated_trust_id"] == first["id"] and second["redelegation_count"] == 1
    tok_c = _trust_token(cloud, c, second["id"])
    assert tok_c.status_code == 201, tok_c.text
    assert tok_c.json()["token"]["project"]["id"] == a.project_id
    tok_c = tok_c.headers["x-subject-token"]
    _error(_create(api, c, d, token=tok_c, project_id=a.project_id, allow_redelegation=True,
                   redelegation_count=1), 403)         # the depth cannot be chosen
    third = _create(api, c, d, token=tok_c, project_id=a.project_id)
    assert third.status_code == 201 and third.json()["trust"]["redelegation_count"] == 0
    tok_d = _trust_token(cloud, d, third.json()["trust"]["id"]).headers["x-subject-token"]
    # Depth used up: d cannot redelegate further.
    _error(_create(api, d, a, token=tok_d, project_id=a.project_id), 403)
    # A trust without redelegation gives tokens that make no trusts.
    plain = _create(api, a, b).json()["trust"]
    tok = _trust_token(cloud, b, plain["id"]).headers["x-subject-token"]
    _error(_create(api, b, c, token=tok, project_id=a.project_id), 403)
    # Deleting the first trust takes the redelegated ones, and every token made from them.
    assert api("DELETE", f"/OS-TRUST/trusts/{first['id']}", token=a.token).status_code == 204
    _error(api("GET", f"/OS-TRUST/trusts/{second['id']}"), 404)
    for t in (tok_b, tok_c, tok_d):
        assert _validate(api, t).status_code == 404


REVOKERS = ["delete-trust", "remove-role", "disable-trustor", "disable-trustee", "delete-trustor",
            "trustor-password"]


@pytest.mark.parametrize("how", REVOKERS)
def test_trust_tokens_end(cloud, api, pair, how):
    trustor, trustee = pair
    trust = _create(api, trustor, trustee, impersonation=True).json()["trust"]
    token = _trust_token(cloud, trustee, trust["id"]).headers["x-subject-token"]
    assert _validate(api, token).status_code == 200
    # The token works against another service too (compute lists the trustor's servers).
    r = httpx.get(cloud.url("compute", "/v2.1/servers"), headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 200, r.text
    if how == "delete-trust":
        r = api("DELETE", f"/OS-TRUST/trusts/{trust['id']}", token=trustor.token)
    elif how == "remove-role":
        r = api("DELETE", f"/projects/{trustor.project_id}/users/{trustor.user_id}/roles/"
                          f"{api.role_id('member')}")
    elif how == "disable-trustor":
        r = api("PATCH", f"/users/{trustor.user_id}", json={"user": {"enabled": False}})
    elif how == "disable-trustee":
        r = api("PATCH", f"/users/{trustee.user_id}", json={"user": {"enabled": False}})
    elif how == "trustor-password":      # revokes the trustor's tokens, trust tokens included
        r = api("PATCH", f"/users/{trustor.user_id}", json={"user": {"password": "changed-" + trustor.password}})
    else:
        r = api("DELETE", f"/users/{trustor.user_id}")
    assert r.status_code in (200, 204), r.text
    assert _validate(api, token).status_code == 404
    r = httpx.get(cloud.url("compute", "/v2.1/servers"), headers={"X-Auth-Token": token}, timeout=30)
    assert r.status_code == 401, r.text
    if how in ("remove-role", "disable-trustor"):
        # No new token either.
        assert _trust_token(cloud, trustee, trust["id"]).status_code == 403
