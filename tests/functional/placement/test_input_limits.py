"""Unusable JSON, NUL in names and odd tokens answer placement's own error bodies; nothing stored."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest


@pytest.fixture(scope="module")
def token(placement_cloud) -> str:
    return placement_cloud.token()


def _post(cloud, token: str, content: bytes) -> httpx.Response:
    return httpx.post(cloud.url("placement", "/resource_providers"), content=content, timeout=30,
                      headers={"X-Auth-Token": token, "Content-Type": "application/json",
                               "OpenStack-API-Version": "placement latest"})


def _detail(r: httpx.Response, status: int = 400) -> str:
    assert r.status_code == status, r.text
    (err,) = r.json()["errors"]
    assert err["status"] == status and err["request_id"]
    return err["detail"]


def _names(cloud, token: str) -> list[str]:
    r = httpx.get(cloud.url("placement", "/resource_providers"), headers={"X-Auth-Token": token}, timeout=30)
    return [rp["name"] for rp in r.json()["resource_providers"]]


@pytest.mark.parametrize("text, why", [("nul-{}\u0000", "NUL character"), ("sur-{}\ud800", "surrogate")])
def test_unstorable_names_are_refused(placement_cloud, token, text, why):
    prefix = text.format(uuid.uuid4().hex[:8])
    r = _post(placement_cloud, token, json.dumps({"name": prefix}).encode())
    assert why in _detail(r)
    assert not [n for n in _names(placement_cloud, token) if n.startswith(prefix[:12])]


def test_nesting_past_the_limit_is_a_400(placement_cloud, token):
    r = _post(placement_cloud, token, b'{"name": ' + b"[" * 50000 + b"]" * 50000 + b"}")
    assert "nested more than 64 levels" in _detail(r)


def test_a_token_that_is_not_ascii_is_a_401(placement_cloud):
    r = httpx.get(placement_cloud.url("placement", "/resource_providers"), timeout=30,
                  headers={"X-Auth-Token": "t\u00e9t\u00e9".encode("latin-1")})
    assert r.status_code == 401, r.text
