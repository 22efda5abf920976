"""Bodies no handler can use answer Keystone's 400, and nothing of them is stored."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest


def _post(cloud, token: str, path: str, content: bytes) -> httpx.Response:
    return httpx.post(f"{cloud.auth_url}{path}", content=content, timeout=30,
                      headers={"X-Auth-Token": token, "Content-Type": "application/json"})


def _error(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == 400 and err["title"] == "Bad Request"
    return err["message"]


@pytest.mark.parametrize("raw, why", [
    (b'{"user": ' + b"[" * 50000 + b"]" * 50000 + b"}", "nested more than 64 levels"),
    (b'{"user": {"name": "u", "enabled": NaN}}', "NaN is not a number"),
    (b'{"user": {"name": "u", "x": 18446744073709551616}}', "out of range"),
    (b'{"user": {"name": "\\ud800"}}', "unpaired UTF-16 surrogate"),
])
def test_unusable_json_is_a_400(cloud, admin_token, raw, why):
    assert why in _error(_post(cloud, admin_token, "/users", raw))


@pytest.mark.parametrize("kind", ["domain", "project", "user", "group", "role"])
def test_nul_in_a_name_is_refused_and_nothing_is_created(cloud, admin_token, kind):
    prefix = f"nul-{uuid.uuid4().hex[:8]}"
    body = {kind: {"name": f"{prefix}\u0000x"}}
    message = _error(_post(cloud, admin_token, f"/{kind}s", json.dumps(body).encode()))
    assert "NUL character" in message
    listed = httpx.get(f"{cloud.auth_url}/{kind}s", headers={"X-Auth-Token": admin_token}, timeout=30)
    assert listed.status_code == 200
    assert not [x for x in listed.json()[f"{kind}s"] if x["name"].startswith(prefix)]


def test_an_ec2_blob_nested_too_deep_is_an_invalid_blob(cloud, admin_token):
    me = httpx.get(f"{cloud.auth_url}/auth/tokens", timeout=30,
                   headers={"X-Auth-Token": admin_token, "X-Subject-Token": admin_token}).json()["token"]
    blob = '{"access": "a", "secret": "s", "x": ' + "[" * 5000 + "]" * 5000 + "}"
    body = {"credential": {"type": "ec2", "user_id": me["user"]["id"], "project_id": me["project"]["id"],
                           "blob": blob}}
    assert "Invalid blob" in _error(_post(cloud, admin_token, "/credentials", json.dumps(body).encode()))
