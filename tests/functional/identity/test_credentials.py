"""Credentials: /v3/credentials, the EC2 API through the CLI, and /v3/ec2tokens and /v3/s3tokens with
real signatures."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from keystoneclient.contrib.ec2.utils import Ec2Signer

from nubes.identity.service.credentials import signature_v4


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


@pytest.fixture(scope="module")
def api(cloud, admin_token) -> Api:
    return Api(cloud, admin_token)


@pytest.fixture(scope="module")
def member(api, cloud) -> dict:
    project = api.create("project", name=_name("ecp"))
    user = api.create("user", name=_name("ecu"), password="pw-ec2-1234")
    role = api("GET", "/roles?name=member").json()["roles"][0]["id"]
    assert api("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/{role}").status_code == 204
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": user["id"], "password": "pw-ec2-1234"}}}, "scope": {"project": {"id": project["id"]}}}}
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, timeout=30)
    assert r.status_code == 201, r.text
    return {"user": user, "project": project, "role": role, "token": r.headers["x-subject-token"]}


def test_ec2_credentials_cli(cloud):
    created = cloud.osc("ec2", "credentials", "create")
    access, secret = created["access"], created["secret"]
    assert created["project_id"] and created["user_id"] and len(secret) == 32
    rows = cloud.osc("ec2", "credentials", "list")
    assert {"Access": access, "Secret": secret, "Project ID": created["project_id"],
            "User ID": created["user_id"]} in rows
    shown = cloud.osc("ec2", "credentials", "show", access)
    assert shown["secret"] == secret and shown["project_id"] == created["project_id"]
    assert shown["trust_id"] is None
    # The same row is a credential of type ec2 whose id is the SHA-256 of the access key.
    creds = {row["ID"]: row for row in cloud.osc("credential", "list", "--type", "ec2")}
    assert creds[hashlib.sha256(access.encode()).hexdigest()]["Type"] == "ec2"
    cloud.osc("ec2", "credentials", "delete", access, json_out=False)
    res = cloud.osc("ec2", "credentials", "show", access, check=False)
    assert res.returncode != 0 and "404" in res.stderr


def _v2(access: str, secret: str, *, host: str = "ec2.example.com:8773", timestamp: str | None = None,
        sign_host: str | None = None) -> dict:
    params = {"Action": "DescribeInstances", "AWSAccessKeyId": access, "SignatureVersion": "2",
              "Version": "2016-11-15",
              "Timestamp": timestamp or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}
    creds = {"access": access, "host": sign_host or host, "verb": "GET", "path": "/",
             "params": params, "headers": {}, "body_hash": ""}
    creds["signature"] = Ec2Signer(secret).generate(creds)
    creds["host"] = host
    return creds


def _v4(access: str, secret: str, *, verb: str = "POST", params: dict | None = None,
        date: datetime | None = None) -> dict:
    when = date or datetime.now(UTC)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{access}/{when.strftime('%Y%m%d')}/RegionOne/ec2/aws4_request"
    headers = {"Host": "ec2.example.com:8773", "X-Amz-Date": amz_date,
               "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
                                "SignedHeaders=host;x-amz-date"}
    body_hash = hashlib.sha256(b"Action=DescribeRegions&Version=2016-11-15").hexdigest()
    creds = {"access": access, "host": "ec2.example.com:8773", "verb": verb, "path": "/",
             "params": params or {}, "headers": headers, "body_hash": body_hash}
    signature = Ec2Signer(secret).generate(creds)
    headers["Authorization"] += f", Signature={signature}"
    creds["signature"] = signature
    return creds


def test_ec2tokens(cloud, api, member):
    uid, pid, tok = member["user"]["id"], member["project"]["id"], member["token"]
    r = api("POST", f"/users/{uid}/credentials/OS-EC2", token=tok, json={"tenant_id": pid})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["user_id"] == uid and cred["tenant_id"] == pid
    assert cred["links"]["self"].endswith(f"/v3/users/{uid}/credentials/OS-EC2/{cred['access']}")
    access, secret = cred["access"], cred["secret"]

    def ec2tokens(creds: dict) -> httpx.Response:
        return httpx.post(f"{cloud.auth_url}/ec2tokens", json={"credentials": creds}, timeout=30)

    # Signature version 2.
    r = ec2tokens(_v2(access, secret))
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert token["user"]["id"] == uid and token["project"]["id"] == pid
    assert token["methods"] == ["ec2credential"] and {x["name"] for x in token["roles"]} >= {"member"}
    assert token["catalog"]
    subject = r.headers["x-subject-token"]
    assert api("GET", "/auth/tokens", headers={"X-Subject-Token": subject}).status_code == 200
    # Clients that sign without the port are accepted too.
    assert ec2tokens(_v2(access, secret, sign_host="ec2.example.com")).status_code == 200
    # The older body key works as well.
    r = httpx.post(f"{cloud.auth_url}/ec2tokens", json={"ec2Credentials": _v2(access, secret)}, timeout=30)
    assert r.status_code == 200, r.text

    # Signature version 4: a POST (form parameters are not signed) and a GET with a query.
    assert ec2tokens(_v4(access, secret)).status_code == 200
    assert ec2tokens(_v4(access, secret, verb="GET", params={
        "Action": "DescribeRegions", "Version": "2016-11-15", "Filter.1.Name": "a b/c"})).status_code == 200

    # Failures: 401 for a wrong signature, unknown key, stale timestamp, mismatched date, no signature.
    bad = _v2(access, secret)
    bad["signature"] = bad["signature"][:-4] + "AAAA"
    assert "Invalid EC2 signature" in _error(ec2tokens(bad), 401)
    _error(ec2tokens(_v2(access, "not-the-secret")), 401)
    _error(ec2tokens(_v4(access, "not-the-secret")), 401)
    _error(ec2tokens(_v2(uuid.uuid4().hex, secret)), 401)
    stale = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "expired" in _error(ec2tokens(_v2(access, secret, timestamp=stale)), 401)
    _error(ec2tokens(_v4(access, secret, date=datetime.now(UTC) - timedelta(hours=1))), 401)
    mismatch = _v4(access, secret)
    auth = mismatch["headers"]["Authorization"]
    mismatch["headers"]["Authorization"] = auth.replace(f"{access}/{auth.split('/')[1]}/",
                                                        f"{access}/20000101/")
    assert "date mismatch" in _error(ec2tokens(mismatch), 401)
    unsigned = _v2(access, secret)
    del unsigned["signature"]
    _error(ec2tokens(unsigned), 401)
    _error(ec2tokens({"signature": "x"}), 401)
    _error(httpx.post(f"{cloud.auth_url}/ec2tokens", json={}, timeout=30), 400)

    # A token obtained from an EC2 credential cannot mint further credentials.
    assert "EC2" in _error(api("POST", f"/users/{uid}/credentials/OS-EC2", token=subject,
                               json={"tenant_id": pid}), 403)
    _error(api("POST", f"/users/{uid}/application_credentials", token=subject,
               json={"application_credential": {"name": _name("x")}}), 403)

    # Another user may not see or delete this user's EC2 credentials.
    other = api.create("user", name=_name("other"), password="pw-other-12")
    r = httpx.post(f"{cloud.auth_url}/auth/tokens", timeout=30, json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"id": other["id"], "password": "pw-other-12"}}}}})
    other_tok = r.headers["x-subject-token"]
    _error(api("GET", f"/users/{uid}/credentials/OS-EC2", token=other_tok), 403)
    _error(api("GET", f"/users/{uid}/credentials/OS-EC2/{access}", token=other_tok), 403)
    _error(api("DELETE", f"/users/{uid}/credentials/OS-EC2/{access}", token=other_tok), 403)
    _error(api("GET", f"/users/{other['id']}/credentials/OS-EC2/{access}"), 404)
    _error(api("POST", f"/users/{uid}/credentials/OS-EC2", token=tok, json={}), 400)
    _error(api("POST", f"/users/{uid}/credentials/OS-EC2", token=tok, json={"tenant_id": "nope"}), 404)

    # Losing the role on the project ends EC2 authentication there.
    assert api("DELETE", f"/projects/{pid}/users/{uid}/roles/{member['role']}").status_code == 204
    _error(ec2tokens(_v2(access, secret)), 401)
    assert api("PUT", f"/projects/{pid}/users/{uid}/roles/{member['role']}").status_code == 204
    listed = api("GET", f"/users/{uid}/credentials/OS-EC2").json()["credentials"]
    assert [c["access"] for c in listed] == [access]
    assert api("DELETE", f"/users/{uid}/credentials/OS-EC2/{access}").status_code == 204
    _error(ec2tokens(_v2(access, secret)), 401)


def _s3_signed(secret: str, string_to_sign: bytes) -> str:
    """An S3 client's signature of ``string_to_sign``: v4 when it starts with AWS4, else v2."""
    import base64
    import hmac

    if not string_to_sign.startswith(b"AWS4"):
        return base64.b64encode(hmac.new(secret.encode(), string_to_sign, hashlib.sha1).digest()).decode()
    scope = string_to_sign.split(b"\n")[2].split(b"/")
    key = ("AWS4" + secret).encode()
    for part in scope:
        key = hmac.new(key, part, hashlib.sha256).digest()
    return hmac.new(key, string_to_sign, hashlib.sha256).hexdigest()


def test_s3tokens(cloud, api, member):
    """Keystone's s3tokens: a string to sign (base64) and its signature judged with the secret;
    only a service or an administrator may ask."""
    import base64

    uid, pid, tok = member["user"]["id"], member["project"]["id"], member["token"]
    r = api("POST", f"/users/{uid}/credentials/OS-EC2", token=tok, json={"tenant_id": pid})
    access, secret = r.json()["credential"]["access"], r.json()["credential"]["secret"]
    day = datetime.now(UTC).strftime("%Y%m%d")
    v4 = f"AWS4-HMAC-SHA256\n{day}T000000Z\n{day}/us-east-1/s3/aws4_request\n{'ab' * 32}".encode()
    v2 = b"GET\n\n\nMon, 07 Dec 2026 10:00:00 GMT\n/bucket/key"

    def s3tokens(sts: bytes, signature: str, key: str = access, token: str | None = None):
        body = {"credentials": {"access": key, "token": base64.urlsafe_b64encode(sts).decode(),
                                "signature": signature}}
        return api("POST", "/s3tokens", token=token, json=body)

    for sts in (v4, v2):
        r = s3tokens(sts, _s3_signed(secret, sts))
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        assert token["user"]["id"] == uid and token["project"]["id"] == pid
        assert {x["name"] for x in token["roles"]} >= {"member"}
        _error(s3tokens(sts, _s3_signed("wrong", sts)), 401)
        _error(s3tokens(sts, _s3_signed(secret, sts), key=uuid.uuid4().hex), 401)
    _error(s3tokens(v4.replace(b"/s3/", b"/ec2/"), _s3_signed(secret, v4.replace(b"/s3/", b"/ec2/"))), 401)
    _error(s3tokens(b"AWS4-HMAC-SHA256\nonly two", "x"), 401)
    # a member's own token may not ask: an intercepted signature must not buy a token
    _error(s3tokens(v2, _s3_signed(secret, v2), token=tok), 403)
    assert httpx.post(f"{cloud.auth_url}/s3tokens", json={}, timeout=30).status_code == 401
    _error(api("POST", "/s3tokens", json={}), 400)
    _error(api("POST", "/s3tokens", json={"credentials": {"access": access, "token": "###",
                                                          "signature": "x"}}), 401)
    assert api("DELETE", f"/users/{uid}/credentials/OS-EC2/{access}").status_code == 204
    _error(s3tokens(v2, _s3_signed(secret, v2)), 401)


def test_credentials_crud(cloud, api, member):
    uid, pid, tok = member["user"]["id"], member["project"]["id"], member["token"]
    cert = api.create("credential", user_id=uid, type="cert", blob="-----BEGIN CERT----- abc",
                      project_id=None, flavour="x")
    assert cert["blob"] == "-----BEGIN CERT----- abc" and len(cert["id"]) == 32 and cert["flavour"] == "x"
    assert cert["links"]["self"].endswith(f"/v3/credentials/{cert['id']}")
    access = uuid.uuid4().hex
    blob = json.dumps({"access": access, "secret": "top-secret"})
    ec2 = api.create("credential", user_id=uid, type="ec2", blob=blob, project_id=pid)
    assert ec2["id"] == hashlib.sha256(access.encode()).hexdigest()
    assert json.loads(ec2["blob"]) == {"access": access, "secret": "top-secret"}

    # The blob is encrypted at rest; key_hash finds EC2 access keys.
    with sqlite3.connect(cloud.state_dir / "identity.sqlite") as db:
        stored, key_hash = db.execute("SELECT encrypted_blob, key_hash FROM credentials WHERE id = ?",
                                      (ec2["id"],)).fetchone()
    assert "top-secret" not in stored and access not in stored and stored.startswith("gAAAA")
    assert key_hash == hashlib.sha256(access.encode()).hexdigest()

    _error(api("POST", "/credentials", json={"credential": {"user_id": uid, "type": "ec2", "blob": blob,
                                                            "project_id": pid}}), 409)
    _error(api("POST", "/credentials", json={"credential": {"user_id": uid, "type": "ec2",
                                                            "blob": json.dumps({"access": "a"})}}), 400)
    _error(api("POST", "/credentials", json={"credential": {"user_id": uid, "type": "ec2",
                                                            "blob": "not json", "project_id": pid}}), 400)
    _error(api("POST", "/credentials", json={"credential": {"user_id": uid, "type": "ec2",
                                                            "blob": "{}", "project_id": pid}}), 400)
    _error(api("POST", "/credentials", json={"credential": {"user_id": uid, "type": "x", "blob": {}}}), 400)
    _error(api("POST", "/credentials", json={"credential": {"type": "x", "blob": "b"}}), 400)
    _error(api("POST", "/credentials", json={"credential": {
        "user_id": uid, "type": "ec2", "project_id": pid,
        "blob": json.dumps({"access": uuid.uuid4().hex, "secret": "s", "app_cred_id": "stolen"})}}), 400)

    # An ec2 credential made through /v3/credentials authenticates with ec2tokens.
    r = httpx.post(f"{cloud.auth_url}/ec2tokens", timeout=30,
                   json={"credentials": _v2(access, "top-secret")})
    assert r.status_code == 200 and r.json()["token"]["project"]["id"] == pid

    def ids(query: str, token: str | None = None) -> set[str]:
        r = api("GET", f"/credentials?{query}", token=token)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["credentials"]}

    assert ids(f"user_id={uid}") == {cert["id"], ec2["id"]}
    assert ids(f"user_id={uid}&type=cert") == {cert["id"]}

    r = api("PATCH", f"/credentials/{cert['id']}", json={"credential": {"blob": "renewed"}})
    assert r.status_code == 200 and r.json()["credential"]["blob"] == "renewed"
    assert api("GET", f"/credentials/{cert['id']}").json()["credential"]["blob"] == "renewed"
    new_blob = json.dumps({"access": access, "secret": "rotated"})
    r = api("PATCH", f"/credentials/{ec2['id']}", json={"credential": {"blob": new_blob}})
    assert r.status_code == 200 and json.loads(r.json()["credential"]["blob"])["secret"] == "rotated"
    _error(api("PATCH", f"/credentials/{cert['id']}", json={"credential": {"type": "ec2"}}), 400)
    _error(api("PATCH", f"/credentials/{cert['id']}", json={"credential": {"id": "other"}}), 400)

    # Users see and manage only their own credentials.
    mine = api("POST", "/credentials", token=tok, json={"credential": {
        "user_id": uid, "type": "note", "blob": "mine"}})
    assert mine.status_code == 201, mine.text
    mine = mine.json()["credential"]
    admin_cred = api.create("credential", user_id=cloud_admin_id(api), type="note", blob="admin's")
    _error(api("POST", "/credentials", token=tok, json={"credential": {
        "user_id": admin_cred["user_id"], "type": "note", "blob": "x"}}), 403)
    assert ids("", token=tok) == {cert["id"], ec2["id"], mine["id"]}
    _error(api("GET", f"/credentials?user_id={admin_cred['user_id']}", token=tok), 403)
    _error(api("GET", f"/credentials/{admin_cred['id']}", token=tok), 403)
    _error(api("PATCH", f"/credentials/{mine['id']}", token=tok, json={"credential": {
        "user_id": admin_cred["user_id"]}}), 403)
    _error(api("DELETE", f"/credentials/{admin_cred['id']}", token=tok), 403)
    assert api("DELETE", f"/credentials/{mine['id']}", token=tok).status_code == 204

    for c in (cert, ec2, admin_cred):
        assert api("DELETE", f"/credentials/{c['id']}").status_code == 204
    _error(api("GET", f"/credentials/{cert['id']}"), 404)
    _error(api("DELETE", f"/credentials/{cert['id']}"), 404)


def cloud_admin_id(api: Api) -> str:
    r = api("GET", "/auth/tokens", headers={"X-Subject-Token": api.token})
    return r.json()["token"]["user"]["id"]


def test_ec2_credential_bound_to_app_cred(cloud, api, member):
    """An EC2 credential made with an application credential's token yields that credential's roles."""
    uid, pid = member["user"]["id"], member["project"]["id"]

    def app_cred(role: str) -> tuple[dict, str]:
        r = api("POST", f"/users/{uid}/application_credentials", token=member["token"], json={
            "application_credential": {"name": _name("ac"), "roles": [{"name": role}]}})
        assert r.status_code == 201, r.text
        ac = r.json()["application_credential"]
        r = httpx.post(f"{cloud.auth_url}/auth/tokens", timeout=30, json={"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {"id": ac["id"], "secret": ac["secret"]}}}})
        return ac, r.headers["x-subject-token"]

    # Keystone's current default: making EC2 credentials takes the member role (a reader may not).
    _, reader_token = app_cred("reader")
    _error(api("POST", f"/users/{uid}/credentials/OS-EC2", token=reader_token, json={"tenant_id": pid}), 403)
    ac, ac_token = app_cred("member")
    other = api.create("project", name=_name("p"))
    _error(api("POST", f"/users/{uid}/credentials/OS-EC2", token=ac_token,
               json={"tenant_id": other["id"]}), 400)
    r = api("POST", f"/users/{uid}/credentials/OS-EC2", token=ac_token, json={"tenant_id": pid})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert cred["app_cred_id"] == ac["id"]
    r = httpx.post(f"{cloud.auth_url}/ec2tokens", timeout=30,
                   json={"credentials": _v2(cred["access"], cred["secret"])})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert [x["name"] for x in token["roles"]] == ["member"]
    assert token["application_credential"]["id"] == ac["id"]
    # Deleting the application credential ends the EC2 credential's use as well.
    assert api("DELETE", f"/users/{uid}/application_credentials/{ac['id']}").status_code == 204
    _error(httpx.post(f"{cloud.auth_url}/ec2tokens", timeout=30,
                      json={"credentials": _v2(cred["access"], cred["secret"])}), 401)
    assert api("DELETE", f"/users/{uid}/credentials/OS-EC2/{cred['access']}").status_code == 204


def test_signature_v4_matches_aws_example():
    """The worked example of AWS's Signature Version 4 documentation (IAM ListUsers)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
               "Host": "iam.amazonaws.com", "X-Amz-Date": "20150830T123600Z",
               "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/"
                                "aws4_request, SignedHeaders=content-type;host;x-amz-date"}
    sig = signature_v4("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                       {"Action": "ListUsers", "Version": "2010-05-08"}, "GET", "iam.amazonaws.com",
                       "/", headers, hashlib.sha256(b"").hexdigest())
    assert sig == "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"


def test_ec2_access_key_change_as_keystone(cloud, api, member):
    """PATCH may change an ec2 credential's access key and secret (200, as Keystone and tempest's
    credentials test expect); the id stays the hash of the first key, so ec2tokens does not find
    the new key, and the delegation a blob is bound to (access_id too) cannot change."""
    uid, pid = member["user"]["id"], member["project"]["id"]
    first = uuid.uuid4().hex
    ec2 = api.create("credential", user_id=uid, type="ec2", project_id=pid,
                     blob=json.dumps({"access": first, "secret": "s1", "access_id": "a1"}))
    second = uuid.uuid4().hex
    r = api("PATCH", f"/credentials/{ec2['id']}", json={"credential": {
        "blob": json.dumps({"access": second, "secret": "s2", "access_id": "a1"})}})
    assert r.status_code == 200, r.text
    assert r.json()["credential"]["id"] == ec2["id"]
    shown = json.loads(api("GET", f"/credentials/{ec2['id']}").json()["credential"]["blob"])
    assert shown["access"] == second and shown["secret"] == "s2"
    r = httpx.post(f"{cloud.auth_url}/ec2tokens", timeout=30, json={"credentials": _v2(second, "s2")})
    assert r.status_code == 401, r.text
    msg = _error(api("PATCH", f"/credentials/{ec2['id']}", json={"credential": {
        "blob": json.dumps({"access": second, "secret": "s2", "access_id": "other"})}}), 400)
    assert "access_id" in msg
    assert api("DELETE", f"/credentials/{ec2['id']}").status_code == 204
    # Nor does another credential become an ec2 one.
    note = api.create("credential", user_id=uid, type="note", project_id=pid,
                      blob=json.dumps({"access": uuid.uuid4().hex, "secret": "s"}))
    _error(api("PATCH", f"/credentials/{note['id']}", json={"credential": {"type": "ec2"}}), 400)
    assert api("DELETE", f"/credentials/{note['id']}").status_code == 204
